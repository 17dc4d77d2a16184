"""The fused similarity score: one documented function over the individual signals.

    fused = Σ_s w_s · score_s / Σ_s w_s      over the signals s available for the pair

Signals, each in [0, 1]:
- image:        (1 + cosine of the image vectors) / 2
- text:         cosine of the lexical TF-IDF vectors (non-negative by construction)
- text_learned: (1 + cosine of the text-tower vectors) / 2
- attributes:   mean of Jaccard(tags ∪ attribute values), same brand (1/0), category closeness
                (shared path levels / deeper path's levels)
- price:        max(0, 1 - |ln(price_a / price_b)| / ln(PRICE_RATIO_ZERO))

A signal that is missing for a pair (no vector yet, or a NaN cosine) drops out of both sums, so
a product without images is still ranked by its words. Plain Python: no Django, no I/O.
"""

import math
from dataclasses import asdict, dataclass, field

from catalog.category_paths import CATEGORY_PATH_SEPARATOR

from .scores import cosine_to_unit

SIGNALS = ("image", "text", "text_learned", "attributes", "price")
PRICE_RATIO_ZERO = 4.0  # a 4× price difference scores 0: a €10 mug is no peer of a €40 one


@dataclass(frozen=True)
class Weights:
    image: float = 0.55
    text: float = 0.2
    text_learned: float = 0.1
    attributes: float = 0.1
    price: float = 0.05


@dataclass(frozen=True)
class Facts:
    """What attribute and price scores compare (mirrors catalog.selectors.ProductFacts)."""

    brand: str
    category_path: str
    tags: list[str]
    attributes: dict
    price: float


@dataclass
class Breakdown:
    """Why an item is similar: each signal's score, the weights used and what is shared."""

    fused: float
    scores: dict[str, float | None]
    weights: dict[str, float]
    contributions: dict[str, float] = field(default_factory=dict)  # these add up to `fused`
    shared_tags: list[str] = field(default_factory=list)
    shared_attributes: dict[str, str] = field(default_factory=dict)
    same_brand: bool = False
    # The boosts and buries that matched (their product; 1 when none): the list is ordered by
    # fused × merchandising, while `fused` (the item's score) stays the similarity itself.
    merchandising: float = 1.0

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def ranked(self) -> float:
        return self.fused * self.merchandising

    @property
    def strongest_reason(self) -> str:
        """A short human hint for the product page ("looks alike", "similar name", ...): the
        signal furthest above what an unrelated pair scores, weighted ("" with no signal)."""
        excess = {
            name: self.weights[name] * (self.scores[name] - UNRELATED.get(name, 0.0))
            for name in self.contributions
        }
        best = max(excess, key=excess.get, default=None)
        return REASONS[best] if best else ""


# What an unrelated pair scores: a cosine of 0 maps to 0.5 ((1 + cosine) / 2), the other
# signals are 0 when nothing is shared. Ranked on raw contributions, unrelated photos
# (0.55 × 0.5) would outweigh a perfect name match (0.2 × 1): "Looks alike" for nearly every item.
UNRELATED = {"image": 0.5, "text_learned": 0.5}
REASONS = {
    "image": "Looks alike",
    "text": "Similar name",
    "text_learned": "Similar description",
    "attributes": "Shares features",
    "price": "Similar price",
}


def _cosine_to_unit(value: float | None) -> float | None:
    return None if value is None else cosine_to_unit(value)


def _text_score(value: float | None) -> float | None:
    # The clamp would read NaN as 1.0: a non-finite cosine is no signal at all.
    if value is None or not math.isfinite(value):
        return None
    return max(0.0, min(1.0, value))


def jaccard(left: set, right: set) -> float:
    union = left | right
    return len(left & right) / len(union) if union else 0.0


def attribute_text(value) -> str:
    """An attribute value as the words it holds: "" for JSON null (no value, not the word
    "none"), yes/no for a boolean, a list's values space-separated."""
    if isinstance(value, list):
        return " ".join(filter(None, (_scalar_text(item) for item in value)))
    return _scalar_text(value)


def _scalar_text(value) -> str:
    if value is None or isinstance(value, (list, dict)):  # nested deeper: not read as words
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value).strip()


def _attribute_features(facts: Facts) -> dict[str, tuple[str, str]]:
    """Each attribute with a value as its Jaccard feature ("key=value", lowercased), mapped to
    the key and value as the product gives them (what the breakdown shows as shared)."""
    features = {}
    for key, value in facts.attributes.items():
        if text := attribute_text(value):
            features[f"{str(key).lower()}={text.lower()}"] = (str(key), text)
    return features


def _features(facts: Facts) -> set[str]:
    tags = {f"tag:{tag.lower()}" for tag in facts.tags}
    return tags | set(_attribute_features(facts))


def category_closeness(left: str, right: str) -> float:
    """Shared leading levels of two ' > ' paths over the deeper path's level count."""
    a, b = (path.split(CATEGORY_PATH_SEPARATOR) if path else [] for path in (left, right))
    if not a or not b:
        return 0.0
    shared = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        shared += 1
    return shared / max(len(a), len(b))


def price_proximity(left: float, right: float) -> float:
    if left <= 0 or right <= 0:
        return 1.0 if left == right else 0.0
    return max(0.0, 1.0 - abs(math.log(left / right)) / math.log(PRICE_RATIO_ZERO))


def attribute_score(source: Facts, candidate: Facts) -> tuple[float, list[str], dict[str, str]]:
    """(score, shared tags, shared attribute values) of two products."""
    shared_tags = sorted({t.lower() for t in source.tags} & {t.lower() for t in candidate.tags})
    # Shared as the Jaccard counts it: the same normalised feature, never an empty value.
    source_attributes, candidate_features = _attribute_features(source), _features(candidate)
    shared_attributes = dict(
        pair for feature, pair in source_attributes.items() if feature in candidate_features
    )
    same_brand = float(bool(source.brand) and source.brand.lower() == candidate.brand.lower())
    parts = [
        jaccard(_features(source), candidate_features),
        same_brand,
        category_closeness(source.category_path, candidate.category_path),
    ]
    return sum(parts) / len(parts), shared_tags, shared_attributes


def fuse(
    *,
    source: Facts,
    candidate: Facts,
    weights: Weights,
    image: float | None = None,
    text: float | None = None,
    text_learned: float | None = None,
) -> Breakdown:
    """The fused score of `candidate` for `source`, with its breakdown (see module docstring)."""
    attributes, shared_tags, shared_attributes = attribute_score(source, candidate)
    scores = {
        "image": _cosine_to_unit(image),
        "text": _text_score(text),
        "text_learned": _cosine_to_unit(text_learned),
        "attributes": attributes,
        "price": price_proximity(source.price, candidate.price),
    }
    weight_map = {name: getattr(weights, name) for name in SIGNALS}  # asdict() deep-copies
    used = {name: weight_map[name] for name, score in scores.items() if score is not None}
    total = sum(used.values())
    contributions = {name: used[name] * scores[name] / total for name in used} if total else {}
    return Breakdown(
        fused=sum(contributions.values()),
        scores=scores,
        weights=weight_map,
        contributions=contributions,
        shared_tags=shared_tags,
        shared_attributes=shared_attributes,
        same_brand=bool(source.brand) and source.brand.lower() == candidate.brand.lower(),
    )
