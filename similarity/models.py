from django.db import models
from django.db.models import Q
from pgvector.django import VectorField


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
        return f"v{self.pk} {self.backbone} {self.embedding_dim}d ({self.status})"

    @property
    def is_servable(self) -> bool:
        return self.status in {self.Status.READY, self.Status.ACTIVE, self.Status.ARCHIVED}


class ImageEmbedding(models.Model):
    """The vector of one product image under one model version (untyped `vector`: any dim)."""

    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="+")
    image = models.ForeignKey("catalog.ProductImage", on_delete=models.CASCADE, related_name="+")
    image_sha256 = models.CharField(max_length=64, help_text="Image content it was computed from.")
    embedding = VectorField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["model_version", "image"], name="one_embedding_per_image_and_version"
            )
        ]

    def __str__(self) -> str:
        return f"image {self.image_id} @ v{self.model_version_id}"


class ProductEmbedding(models.Model):
    """A product's vector under one version: the re-normalised mean of its image vectors.

    Similar-item queries run on these rows through a per-version partial HNSW index.
    """

    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="+")
    embedding = VectorField()
    image_count = models.PositiveSmallIntegerField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["model_version", "product"], name="one_embedding_per_product_and_version"
            )
        ]

    def __str__(self) -> str:
        return f"product {self.product_id} @ v{self.model_version_id}"


class Job(models.Model):
    """A training or embedding job on the `ml` queue; progress is what the admin shows live."""

    class Kind(models.TextChoices):
        TRAIN = "train"
        EMBED = "embed"

    class State(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.CASCADE, related_name="jobs", null=True, blank=True
    )
    params = models.JSONField(default=dict, blank=True)
    progress = models.JSONField(default=dict, blank=True)
    log = models.TextField(blank=True, help_text="Notable events, e.g. a weights fallback.")
    attempts = models.PositiveSmallIntegerField(default=0)
    cancel_requested = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-pk"]

    def __str__(self) -> str:
        return f"{self.kind} job #{self.pk} ({self.state})"

    @property
    def is_finished(self) -> bool:
        return self.state in {self.State.SUCCEEDED, self.State.FAILED, self.State.CANCELLED}
