"""The weights of a lexical build: feature families (fixed) and fields (tuned per catalogue)."""

from dataclasses import asdict, dataclass, field, fields, replace


@dataclass(frozen=True)
class FieldWeights:
    """How much each field counts (the title is the unit); 0 ignores a field on both sides.

    The defaults serve a catalogue too small to tune (see `tuning.MIN_PRODUCTS`).
    """

    title: float = 1.0
    brand: float = 0.5
    model: float = 0.6
    category: float = 0.3
    description: float = 0.3


@dataclass(frozen=True)
class LexicalConfig:
    """Family weights (tuned on Walmart–Amazon's dev half, see docs/BENCHMARKS.md) and the
    catalogue's field weights (tuned per catalogue by `tuning.tune`)."""

    ngram_weight: float = 1.0
    word_weight: float = 0.6
    model_number_weight: float = 0.6
    # Char 3–5-grams of the codes alone ("dscs750" meets "dsc750"): 0, 0.3, 0.45 and 0.6
    # measured on both dev sets together; 0.45 is best on their mean and hurts neither.
    code_ngram_weight: float = 0.45
    model_number_variants: bool = True  # also index a code's parts and its suffix-less stem
    sublinear_tf: bool = True
    fields: FieldWeights = field(default_factory=FieldWeights)

    def family_weight(self, family: str) -> float:
        return {
            "ngram": self.ngram_weight,
            "word": self.word_weight,
            "model": self.model_number_weight,
            "code": self.code_ngram_weight,
        }[family]

    def as_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "LexicalConfig":
        known = {item.name for item in fields(cls)} - {"fields"}
        weights = FieldWeights(**data.get("fields", {}))
        return cls(**{key: value for key, value in data.items() if key in known}, fields=weights)

    def with_fields(self, **weights: float) -> "LexicalConfig":
        return replace(self, fields=replace(self.fields, **weights))


@dataclass
class TuningResult:
    """The tuned configuration and the evidence for it (stored with the lexical index)."""

    config: LexicalConfig
    method: str  # "pseudo-queries", "pairs" or "default"
    note: str
    products: int = 0
    queries: int = 0
    mrr_default: float | None = None
    mrr_tuned: float | None = None
    field_share: dict[str, float] = field(default_factory=dict)
    trials: list[dict] = field(default_factory=list)

    def as_json(self) -> dict:
        data = asdict(self)
        data["config"] = self.config.as_json()
        return data
