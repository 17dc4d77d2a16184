"""A shop's own matched records for tuning the lexical field weights: a CSV of how its queries
or a partner's feed describe products (any of the lexical fields) and the SKU each one means.

With pairs, `reindex_text --tune --pairs FILE` fits the weights on what the shop really
matches instead of pseudo-queries made from the catalogue. A bad line is reported with its line
number and left out (one naming a withdrawn product too: it has no row to match); the valid
ones are used.
"""

import csv
from dataclasses import dataclass, field
from pathlib import Path

from catalog import selectors as catalog_selectors

from ..ml import lexical

MIN_PAIRS = 20  # fewer matched records than this cannot move a weight reliably
MAX_FIELD_CHARS = 10_000
ERROR_NO_SKU_COLUMN = "the header has no sku column"
ERROR_NO_FIELDS = "the header names none of the fields {fields}"
ERROR_UNKNOWN_SKU = "line {line}: sku {sku!r} is not a product of the catalogue"
ERROR_WITHDRAWN = "line {line}: sku {sku!r} is withdrawn"
ERROR_EMPTY = "line {line}: every field is empty"
ERROR_TOO_FEW = "{valid} valid matched records: at least {minimum} are needed to tune on"


class PairsError(ValueError):
    """The file cannot be used at all (its header, or too few valid lines)."""


@dataclass
class MatchedPairs:
    queries: lexical.Columns  # field → one text per valid line (absent fields are "")
    product_ids: list[int]  # the product each valid line means
    problems: list[str] = field(default_factory=list)


def matched_pairs_read(path: Path) -> MatchedPairs:
    """The valid lines of the pairs CSV at `path` (UTF-8, a header with `sku` and any of the
    lexical fields); raises PairsError when fewer than MIN_PAIRS are valid."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        header = [name.strip().lower() for name in reader.fieldnames or []]
        if "sku" not in header:
            raise PairsError(ERROR_NO_SKU_COLUMN)
        fields = [name for name in lexical.FIELDS if name in header]
        if not fields:
            raise PairsError(ERROR_NO_FIELDS.format(fields=", ".join(lexical.FIELDS)))
        reader.fieldnames = header
        lines = list(enumerate(reader, start=2))
    ids = catalog_selectors.product_ids_by_sku(
        skus=[(row.get("sku") or "").strip() for _, row in lines]
    )
    active = catalog_selectors.product_ids_allowed(
        ids=ids.values(), product_filter=catalog_selectors.ProductFilter()
    )
    pairs = MatchedPairs({name: [] for name in lexical.FIELDS}, [])
    for number, row in lines:
        _add(pairs, number, row, fields, ids, active)
    if len(pairs.product_ids) < MIN_PAIRS:
        raise PairsError(ERROR_TOO_FEW.format(valid=len(pairs.product_ids), minimum=MIN_PAIRS))
    return pairs


def _add(
    pairs: MatchedPairs, line: int, row: dict, fields: list[str], ids: dict, active: set[int]
) -> None:
    sku = (row.get("sku") or "").strip()
    if sku not in ids:
        pairs.problems.append(ERROR_UNKNOWN_SKU.format(line=line, sku=sku[:200]))
        return
    if ids[sku] not in active:
        pairs.problems.append(ERROR_WITHDRAWN.format(line=line, sku=sku[:200]))
        return
    texts = {name: (row.get(name) or "").strip()[:MAX_FIELD_CHARS] for name in lexical.FIELDS}
    if not any(texts[name] for name in fields):
        pairs.problems.append(ERROR_EMPTY.format(line=line))
        return
    for name in lexical.FIELDS:
        pairs.queries[name].append(texts[name])
    pairs.product_ids.append(ids[sku])
