"""Pseudo-queries: a product's own fields, damaged the way another shop would write them.

Another shop names the same product with a shorter or reordered title, drops or abbreviates
words, makes typos, sends the brand or the model number only sometimes, and writes its own
description. The product's own description is therefore never part of a pseudo-query (it
would make description words look decisive in any catalogue with distinct prose); whether the
description helps is measured on the catalogue side, where it must back up a damaged title.
"""

import random
import re

import numpy as np

from .fields import DESCRIPTION_CHARS, FIELDS, Columns

DIGIT_RE = re.compile(r"\d")
KEEP_CATEGORY = 0.2  # shops seldom share a taxonomy
QUERY_SAMPLE = 800  # pseudo-queries: one per sampled product; 1/800 is below a grid step's effect
# Chance of each kind of damage to the title, applied independently.
DAMAGE = {
    "drop_brand": 0.3,
    "drop_codes": 0.3,
    "truncate": 0.4,
    "reorder": 0.3,
    "drop_word": 0.3,
    "abbreviate": 0.2,
    "typo": 0.3,
}


def split_description(text: str) -> tuple[str, str]:
    """The first and second half of a description's words (within DESCRIPTION_CHARS)."""
    words = text[:DESCRIPTION_CHARS].split()
    middle = (len(words) + 1) // 2
    return " ".join(words[:middle]), " ".join(words[middle:])


def pseudo_query(
    record: dict[str, str], other_half: str, share: dict[str, float], rng: random.Random
) -> dict[str, str]:
    """A damaged copy of `record`; its description (if sent) is `other_half`, the half of the
    product's description that the catalogue side does not hold during tuning.

    A query sends brand, model number or description as often as this catalogue fills them
    (`share`): shops selling the same goods record much the same fields.
    """
    query = {"title": damaged_title(record, rng)}
    if other_half and rng.random() < share.get("description", 0.0):
        query["description"] = other_half
    for name in ("brand", "model", "category"):
        keep = KEEP_CATEGORY if name == "category" else share.get(name, 0.0)
        if record.get(name) and rng.random() < keep:
            query[name] = record[name]
    if query.get("model") and rng.random() < 0.3:
        query["model"] = query["model"].replace("-", "")
    return query


def damaged_title(record: dict[str, str], rng: random.Random) -> str:
    words = (record.get("title") or "").split()
    brand = {word.lower() for word in (record.get("brand") or "").split()}
    if rng.random() < DAMAGE["drop_brand"]:
        words = [w for w in words if w.lower() not in brand] if brand else words[1:]
    if rng.random() < DAMAGE["drop_codes"]:
        words = [word for word in words if not DIGIT_RE.search(word)]
    if len(words) > 2 and rng.random() < DAMAGE["truncate"]:
        words = words[: rng.randint(max(2, len(words) // 2), len(words) - 1)]
    if len(words) > 2 and rng.random() < DAMAGE["reorder"]:
        cut = rng.randint(1, len(words) - 1)
        words = words[cut:] + words[:cut]
    if len(words) > 2:
        kept = [word for word in words if rng.random() >= DAMAGE["drop_word"]]
        words = kept if len(kept) >= 2 else words[:2]
    words = [_abbreviate(w) if rng.random() < DAMAGE["abbreviate"] / 2 else w for w in words]
    if words and rng.random() < DAMAGE["typo"]:
        position = rng.randrange(len(words))
        words[position] = _typo(words[position], rng)
    return " ".join(words) or (record.get("title") or "")


def _abbreviate(word: str) -> str:
    return word[:4] if len(word) >= 7 and word.isalpha() else word


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.choice(("delete", "swap", "double"))
    if kind == "delete":
        return word[:i] + word[i + 1 :]
    if kind == "swap":
        return word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :]
    return word[:i] + word[i] + word[i:]


def field_share(columns: Columns, products: int) -> dict[str, float]:
    return {
        name: round(sum(bool(text.strip()) for text in texts) / max(products, 1), 4)
        for name, texts in columns.items()
    }


def pseudo_queries(catalogue: Columns, share: dict[str, float], rng: random.Random):
    """The catalogue with each description's first half, the queries (with the second half
    when they send a description), and each query's product."""
    size = len(catalogue["title"])
    halves = [split_description(text) for text in catalogue.get("description", [""] * size)]
    catalogue = {**catalogue, "description": [second for _, second in halves]}
    targets = np.array(sorted(rng.sample(range(size), min(size, QUERY_SAMPLE))))
    records = [{name: texts[i] for name, texts in catalogue.items()} for i in targets]
    drawn = [
        pseudo_query(record, halves[i][0], share, rng)
        for record, i in zip(records, targets, strict=True)
    ]
    names = [name for name in FIELDS if any(name in query for query in drawn)]
    return catalogue, {name: [query.get(name, "") for query in drawn] for name in names}, targets


def targets_in_sample(targets: np.ndarray, rows: list[int]) -> np.ndarray:
    position = {row: i for i, row in enumerate(rows)}
    return np.array([position.get(int(target), -1) for target in targets])
