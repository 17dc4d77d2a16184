from django.conf import settings
from django.db import models
from django.db.models import F, Q
from pgvector.django import HnswIndex, SparseVectorField, VectorField

from .ml.lexical import DIMENSIONS as LEXICAL_DIMENSIONS


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
    text_embedding = VectorField(
        null=True, blank=True, help_text="The product text through the version's text tower."
    )
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
        TIMED_OUT = "timed_out"  # the task's soft or hard time limit ended it

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
        return self.state in {
            self.State.SUCCEEDED,
            self.State.FAILED,
            self.State.CANCELLED,
            self.State.TIMED_OUT,
        }


class LexicalIndex(models.Model):
    """The IDF table of one lexical build over the catalogue; exactly one is current."""

    documents = models.PositiveIntegerField()
    idf = models.JSONField(help_text="Hashed-feature document frequencies (IdfTable.as_json).")
    config = models.JSONField(default=dict)
    is_current = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["is_current"],
                condition=Q(is_current=True),
                name="one_current_lexical_index",
            )
        ]

    def __str__(self) -> str:
        return f"lexical index #{self.pk} ({self.documents} products)"


class ProductText(models.Model):
    """A product's lexical TF-IDF vector (hashed char n-grams, words, model numbers)."""

    lexical_index = models.ForeignKey(LexicalIndex, on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="+")
    vector = SparseVectorField(dimensions=LEXICAL_DIMENSIONS)
    text_sha256 = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["lexical_index", "product"], name="one_text_per_product_and_index"
            )
        ]
        indexes = [
            HnswIndex(
                name="product_text_hnsw",
                fields=["vector"],
                m=16,
                ef_construction=64,
                opclasses=["sparsevec_cosine_ops"],
            )
        ]

    def __str__(self) -> str:
        return f"text of product {self.product_id} @ lexical #{self.lexical_index_id}"


class FusionWeights(models.Model):
    """How much each signal counts in the fused score: globally (no category) or per category.

    A category's row applies to its whole subtree unless a deeper category has its own.
    """

    category = models.OneToOneField(
        "catalog.Category", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    image = models.FloatField(default=0.55)
    text = models.FloatField(default=0.2, help_text="Lexical: names, model numbers.")
    text_learned = models.FloatField(default=0.1, help_text="The text tower's vectors.")
    attributes = models.FloatField(default=0.1, help_text="Tags/attributes, brand, category.")
    price = models.FloatField(default=0.05)

    class Meta:
        verbose_name_plural = "fusion weights"
        constraints = [
            models.UniqueConstraint(
                fields=["category"], condition=Q(category__isnull=True), name="one_global_weights"
            ),
            models.CheckConstraint(
                condition=Q(
                    image__gte=0, text__gte=0, text_learned__gte=0, attributes__gte=0, price__gte=0
                ),
                name="fusion_weights_non_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"weights for {self.category or 'all categories'}"


class MerchandisingRule(models.Model):
    """A curation rule the serving query applies: pin, block, boost or bury.

    Scope: one source product (its similar list), a source category subtree, or everywhere.
    Pin and block name a target product; boost and bury match candidates by brand or tag.
    """

    class Kind(models.TextChoices):
        PIN = "pin", "pin product at position"
        BLOCK = "block", "never show product"
        BOOST = "boost", "boost brand/tag"
        BURY = "bury", "bury brand/tag"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    source_product = models.ForeignKey(
        "catalog.Product",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="Applies to this product's similar list (empty: see category).",
    )
    source_category = models.ForeignKey(
        "catalog.Category",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="Applies to products in this category subtree (both empty: everywhere).",
    )
    target_product = models.ForeignKey(
        "catalog.Product",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="Pin/block: the product to pin or hide.",
    )
    position = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Pin: 1-based position in the list."
    )
    brand = models.CharField(max_length=200, blank=True, help_text="Boost/bury: this brand…")
    tag = models.CharField(max_length=100, blank=True, help_text="…or this tag.")
    factor = models.FloatField(default=1.5, help_text="Boost multiplies the score; bury divides.")
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "position", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind__in=["pin", "block"]) | Q(target_product__isnull=False),
                name="pin_and_block_name_a_product",
            ),
            models.CheckConstraint(
                condition=~Q(kind="pin") | Q(position__gte=1), name="pin_has_a_position"
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=["boost", "bury"]) | ~Q(brand="", tag=""),
                name="boost_and_bury_name_a_brand_or_tag",
            ),
            models.CheckConstraint(condition=Q(factor__gt=0), name="rule_factor_positive"),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True)
                | Q(valid_until__isnull=True)
                | Q(valid_until__gt=F("valid_from")),
                name="rule_validity_ordered",
            ),
        ]

    def __str__(self) -> str:
        target = self.target_product or self.brand or self.tag
        scope = self.source_product or self.source_category or "everywhere"
        return f"{self.get_kind_display()}: {target} ({scope})"


class Judgment(models.Model):
    """An admin's verdict on one pair (source product, product shown for it): the gold set.

    One row per pair; marking it again updates the verdict. The source's category path is kept
    as it was when judged, so the per-category gold set does not move when the catalogue does.
    """

    class Verdict(models.TextChoices):
        GOOD = "good"
        BAD = "bad"

    source = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="+")
    target = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="+")
    verdict = models.CharField(max_length=4, choices=Verdict.choices)
    category_path = models.CharField(
        max_length=1000, blank=True, help_text="The source's category when it was judged."
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["source", "target"], name="one_judgment_per_pair"),
            models.CheckConstraint(
                condition=~Q(source=F("target")), name="judgment_pair_of_two_products"
            ),
        ]
        indexes = [models.Index(fields=["category_path"], name="judgment_category_path")]

    def __str__(self) -> str:
        return f"{self.source_id} → {self.target_id}: {self.verdict}"
