"""Training parameters of the sequence model, stored with each model version as a dict."""

from dataclasses import asdict, dataclass, fields

ARCHITECTURES = ("gru", "sasrec")
# The least a new training takes, from the admin's form or train_behaviour alike (the form reads
# them from here): with no epoch or an empty batch nothing trains, yet the untrained model was
# saved and could be activated. 4 dimensions is the form's floor since it was first offered.
# Checked by `for_training` only: a version stored before these floors still loads and serves.
MIN_EPOCHS = 1
MIN_BATCH_SIZE = 1
MIN_DIM = 4
# And the most, the admin form's caps too: beyond them a training runs for days or fills the
# memory before it fails.
MAX_EPOCHS = 200
MAX_DIM = 512
# keras.utils.set_random_seed seeds NumPy's global generator, which takes 0 to 2**32 - 1 only:
# any other seed failed the training after its version was made.
SEED_RANGE = range(2**32)


@dataclass(frozen=True)
class SequenceConfig:
    """How a sequence model is built and trained.

    architecture: "gru" (GRU4Rec-style recurrent state) or "sasrec" (causal self-attention).
    dim: width of item, kind and visitor vectors (the served vectors have this many floats).
    max_len: events of a visitor's history the model reads (the latest ones).
    layers, heads: self-attention blocks and heads (sasrec); GRU layers (gru) use `layers`.
    dropout: on the event inputs and inside the blocks, while training only.
    horizon: each position is asked for one of the next `horizon` events' items, drawn anew
        each epoch (1 = the next event, GRU4Rec/SASRec; more = what the visitor will buy in
        the coming weeks, repeats included, which is what next-purchase lists are judged on).
    negatives: 0 = full softmax over all items; N > 0 = softmax over the target and N items
        sampled uniformly per batch (shared by the batch), for large catalogues.
    use_content: add a learned projection of each item's content vector to its id embedding.
    patience: epochs without a better validation Recall@20 before training stops.
    k: the cut-off of the validation metric (Recall@k), 20 by the issue's protocol.
    """

    architecture: str = "sasrec"
    dim: int = 64
    max_len: int = 50
    layers: int = 1
    heads: int = 2
    dropout: float = 0.2
    epochs: int = 30
    batch_size: int = 128
    learning_rate: float = 1e-3
    horizon: int = 1
    negatives: int = 0
    seed: int = 0
    patience: int = 3
    use_content: bool = True
    k: int = 20

    def __post_init__(self) -> None:
        if self.architecture not in ARCHITECTURES:
            raise ValueError(
                f"unknown architecture {self.architecture!r}; one of {list(ARCHITECTURES)}"
            )
        if self.horizon < 1:
            raise ValueError("horizon must be at least 1")
        if self.negatives < 0:
            raise ValueError("negatives must be 0 (full softmax) or a number of sampled items")
        if self.dim < 1 or self.max_len < 1 or self.layers < 1 or self.heads < 1:
            raise ValueError("dim, max_len, layers and heads must be at least 1")
        if self.architecture == "sasrec" and self.dim % self.heads:  # a GRU has no heads
            raise ValueError(f"dim {self.dim} is not a multiple of heads {self.heads}")

    @classmethod
    def for_training(cls, **values) -> "SequenceConfig":
        """The config of a new training: ValueError for one that would train nothing."""
        config = cls(**values)
        for name, least in (
            ("epochs", MIN_EPOCHS),
            ("batch_size", MIN_BATCH_SIZE),
            ("dim", MIN_DIM),
        ):
            if getattr(config, name) < least:
                raise ValueError(f"{name} must be at least {least}, not {getattr(config, name)}")
        for name, most in (("epochs", MAX_EPOCHS), ("dim", MAX_DIM)):
            if getattr(config, name) > most:
                raise ValueError(f"{name} must be at most {most}, not {getattr(config, name)}")
        if config.seed not in SEED_RANGE:
            raise ValueError(f"seed must be from 0 to {SEED_RANGE[-1]}, not {config.seed}")
        return config

    def to_dict(self) -> dict:
        """Plain JSON-ready dict of every field."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "SequenceConfig":
        """The config of a stored dict; missing fields take their defaults, unknown ones raise."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown sequence config fields: {unknown}")
        return cls(**values)
