from django.db import models
from django.db.models import Q


def served_model_count(params: dict) -> int:
    """How many models a version with training `params` serves side by side: the refits of
    `refit_models` (one for versions from before the option), or the selection model alone
    without a refit. `params` must hold valid options (training_limits checks them)."""
    if not params.get("refit_on_all", True):
        return 1
    return int(params.get("refit_models") or 1)


class ModelVersion(models.Model):
    """One trained image-embedding model: its parameters, artifacts, metrics and lifecycle.

    Vectors of two versions are never compared: every embedding row belongs to one version and
    every query filters on it. At most one version is active (a conditional unique constraint).
    """

    class Status(models.TextChoices):
        QUEUED = "queued"
        TRAINING = "training"
        EVALUATING = "evaluating"
        EMBEDDING = "embedding"
        INDEXING = "indexing"
        READY = "ready"
        ACTIVE = "active"
        FAILED = "failed"
        ARCHIVED = "archived"

    class Metric(models.TextChoices):
        COSINE = "cosine"
        L2 = "l2"
        INNER_PRODUCT = "ip"

    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    backbone = models.CharField(max_length=50)
    weights = models.CharField(
        max_length=500, help_text="'imagenet', 'auto', 'none' or a path to a .weights.h5 file."
    )
    weights_used = models.CharField(max_length=500, blank=True, help_text="What was loaded.")
    input_size = models.PositiveSmallIntegerField()
    embedding_dim = models.PositiveSmallIntegerField()
    metric = models.CharField(max_length=10, choices=Metric.choices, default=Metric.COSINE)
    label_source = models.CharField(max_length=20, default="auto")
    preprocessing_version = models.PositiveSmallIntegerField(default=1)
    params = models.JSONField(default=dict, blank=True, help_text="Training parameters.")
    dataset = models.JSONField(default=dict, blank=True, help_text="Snapshot: sizes and hash.")
    metrics = models.JSONField(default=dict, blank=True, help_text="This version and baselines.")
    history = models.JSONField(default=list, blank=True, help_text="Per-epoch loss and recall.")
    timings = models.JSONField(default=dict, blank=True, help_text="Seconds per phase.")
    artifact_dir = models.CharField(max_length=1000, blank=True)
    auto_activate = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-pk"]
        # Training spends hours of compute and activation changes what every shopper sees:
        # each gets its own permission rather than riding on "change model version".
        permissions = [
            ("train_model", "Can train a new model version"),
            ("activate_model", "Can activate or roll back a model version"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["status"], condition=Q(status="active"), name="one_active_model_version"
            ),
            models.CheckConstraint(
                condition=Q(embedding_dim__gte=2, embedding_dim__lte=2000),
                name="model_version_dim_indexable",  # HNSW on `vector` supports up to 2,000
            ),
        ]

    def __str__(self) -> str:
        # Admin select lists: a pair served side by side reads "2×256d", its vectors 512 long.
        times = f"{self.served_models}×" if self.served_models > 1 else ""
        return f"v{self.pk} {self.backbone} {times}{self.embedding_dim}d ({self.status})"

    @property
    def served_models(self) -> int:
        return served_model_count(self.params)

    @property
    def vector_dim(self) -> int:
        """The length of the vectors this version stores and searches."""
        return self.embedding_dim * self.served_models

    @property
    def is_servable(self) -> bool:
        return self.status in {self.Status.READY, self.Status.ACTIVE, self.Status.ARCHIVED}
