"""Shopper behaviour: events as they arrive, and what the refresh derives from them."""

from django.db import models
from django.db.models import Q
from pgvector.django import VectorField

from catalog.models import Product
from core.jobs.heartbeat_fields import HeartbeatFields
from core.jobs.import_rows import ImportJobRow, ImportLineReport


class Event(models.Model):
    """One shopper event (a view, an add to basket, a purchase line, a click).

    The table is partitioned by month on `occurred_at` (migration 0001), so retention drops whole
    partitions. `visitor` is the HMAC of the shop's visitor id (behaviour.visitors), never the id
    itself. `product` carries no database constraint: a deleted product's events stay as history
    and the refresh ignores them (an inner join on active products).
    """

    class Kind(models.TextChoices):
        VIEW = "view"
        ADD_TO_CART = "add_to_cart"
        PURCHASE = "purchase"
        CLICK = "click"

    class Source(models.TextChoices):
        API = "api"
        STOREFRONT = "storefront"
        IMPORT = "import"

    pk = models.CompositePrimaryKey("occurred_at", "event_id")
    event_id = models.CharField(max_length=200)
    occurred_at = models.DateTimeField()
    kind = models.CharField(max_length=12, choices=Kind.choices)
    visitor = models.CharField(max_length=64)
    product = models.ForeignKey(
        Product, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    order_id = models.CharField(max_length=200, blank=True, default="")
    quantity = models.IntegerField(null=True, blank=True)
    unit_price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.API)

    class Meta:
        # Created by RunSQL (migration 0001): Django cannot declare a partitioned table.
        db_table = "behaviour_event"

    def __str__(self) -> str:
        return f"{self.kind} {self.product_id} at {self.occurred_at:%Y-%m-%d %H:%M}"


class EventKey(models.Model):
    """Every accepted event id, so a resent event is a duplicate whatever partition it names.

    A partitioned table can only be unique on keys that include the partition key; this plain
    table is unique on the id alone, and inserting here first (ON CONFLICT DO NOTHING) is what
    makes a resent or concurrently sent batch exactly-once.
    """

    event_id = models.CharField(max_length=200, primary_key=True)
    occurred_at = models.DateTimeField()
    # Not indexed: which events are new is told by the transaction that wrote each key (xact,
    # migration 0005, indexed), and every index here costs each imported event.
    received_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.event_id


class ItemAssociation(models.Model):
    """A product's best partners by kind, as of the last refresh ("bought together")."""

    class Kind(models.TextChoices):
        BOUGHT_TOGETHER = "bought_together"
        ALSO_VIEWED = "also_viewed"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    other = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    score = models.FloatField()
    support = models.FloatField(help_text="time-decayed baskets (or sessions) holding both")
    recent = models.IntegerField(
        help_text="orders (or sessions) holding both in the last PRODSIM_BEHAVIOUR_WHY_DAYS days"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "product", "other"], name="association_unique")
        ]
        indexes = [models.Index(fields=["kind", "product", "-score"], name="association_rank")]

    def __str__(self) -> str:
        return f"{self.kind}: {self.product_id} → {self.other_id} ({self.score:.3f})"


class ProductPopularity(models.Model):
    """Time-decayed popularity as of the last refresh: what "Trending" ranks by."""

    product = models.OneToOneField(
        Product, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    score = models.FloatField()
    purchases = models.IntegerField(default=0)
    views = models.IntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.product_id}: {self.score:.3f}"


class BehaviourRefresh(models.Model):
    """One rebuild of the derived lists from the events (history for the admin page)."""

    class State(models.TextChoices):
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    state = models.CharField(max_length=10, choices=State.choices, default=State.RUNNING)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    events_until = models.DateTimeField(
        null=True, blank=True, help_text="events received up to here are reflected"
    )
    stats = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        get_latest_by = "started_at"
        verbose_name_plural = "behaviour refreshes"
        # Each refresh reads the newest of a state (the last success, the interrupted ones).
        indexes = [models.Index(fields=["state", "-started_at"], name="behaviour_refresh_state")]

    def __str__(self) -> str:
        return f"refresh {self.started_at:%Y-%m-%d %H:%M} ({self.state})"


class BehaviourEvaluation(models.Model):
    """One offline evaluation of bought together by a time split (`evaluate_behaviour`)."""

    created_at = models.DateTimeField(auto_now_add=True)
    test_from = models.DateTimeField()
    result = models.JSONField(help_text="HR@10 per method, pairs, cold share (services.evaluation)")

    class Meta:
        ordering = ["-created_at"]
        get_latest_by = "created_at"

    def __str__(self) -> str:
        return f"evaluation from {self.test_from:%Y-%m-%d}"


class EventImportJob(ImportJobRow):
    """One order or event history CSV import (docs/EVENTS_FORMAT.md) and its outcome; the admin
    page and the import_events command follow its progress."""

    csv_file = models.FileField(upload_to="imports/events/%Y/%m/", max_length=300)
    time_zone = models.CharField(
        max_length=64, blank=True, help_text="IANA zone of times without a UTC offset, if any."
    )
    rows_total = models.PositiveIntegerField(default=0, help_text="lines after the header")
    accepted_count = models.PositiveIntegerField(default=0)
    duplicate_count = models.PositiveIntegerField(
        default=0,
        help_text="lines whose event was already stored: by an earlier import, a repeat in this "
        "file, or an earlier attempt of this import, whose lines it then does not count again "
        "as accepted",
    )
    rejected_count = models.PositiveIntegerField(default=0)

    class Meta(ImportJobRow.Meta):
        # Uploading writes shopper history in bulk: its own permission, beyond "add import job".
        permissions = [("upload_events", "Can upload an order or event history (CSV)")]

    def __str__(self) -> str:
        return f"Event import #{self.pk} ({self.state})"


class EventImportRowError(ImportLineReport):
    """Why one line of an event import was rejected (or, as a warning, what was ignored)."""

    class Level(models.TextChoices):
        ROW_REJECTED = "row", "row rejected"
        WARNING = "warning", "warning"

    job = models.ForeignKey(EventImportJob, on_delete=models.CASCADE, related_name="row_errors")
    level = models.CharField(max_length=10, choices=Level.choices)


# --- What the incremental refresh keeps between ticks (behaviour.services.refresh_state) --------


class BehaviourCountState(models.Model):
    """Where the counts stand: the one row the incremental refresh reads and moves on.

    `snapshot` is the PostgreSQL snapshot (pg_current_snapshot) the counts were taken under:
    events whose key row (behaviour_eventkey.xact, a column added by migration 0005) was not
    visible in it are the new ones, whatever their received_at, so an ingest transaction that
    commits late is neither lost nor counted twice. Weights are kept at `reference` (the last full
    rebuild), `settings_key` says which settings they were counted under.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    reference = models.FloatField(help_text="Unix seconds the decayed weights are expressed at")
    counted_at = models.FloatField(help_text="Unix seconds of the last refresh (its 'now')")
    snapshot = models.TextField()
    settings_key = models.CharField(max_length=200)
    baskets = models.JSONField(default=dict, help_text="decayed and plain basket totals per kind")

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="one_count_state")]

    def __str__(self) -> str:
        return f"counts at {self.counted_at:.0f} (reference {self.reference:.0f})"


class PairCount(models.Model):
    """Two products' shared baskets (orders, or visits for also viewed), both directions stored.

    `weight` is decayed to the state's reference time, `baskets` the plain count (a pair whose
    baskets fall to 0 is deleted) and `recent` the baskets of the "why" window.
    """

    pk = models.CompositePrimaryKey("kind", "product_id", "other_id")
    kind = models.CharField(max_length=16)
    product_id = models.BigIntegerField()
    other_id = models.BigIntegerField()
    weight = models.FloatField()
    baskets = models.IntegerField()
    recent = models.IntegerField()

    def __str__(self) -> str:
        return f"{self.kind}: {self.product_id} & {self.other_id} ({self.baskets})"


class ItemCount(models.Model):
    """One product's baskets per kind (n_i of the scorers), or its trending purchases and views;
    weights at the state's reference time, as PairCount."""

    pk = models.CompositePrimaryKey("kind", "product_id")
    kind = models.CharField(max_length=16)
    product_id = models.BigIntegerField()
    weight = models.FloatField()
    baskets = models.IntegerField()
    recent = models.IntegerField()

    def __str__(self) -> str:
        return f"{self.kind}: {self.product_id} ({self.baskets})"


class RebuildRequest(models.Model):
    """A full rebuild asked for (erasure, retention, the admin): events left, so no increment can
    say what changed. Rows committed after a rebuild's snapshot survive it and trigger the next."""

    requested_at = models.DateTimeField(auto_now_add=True)
    reason = models.CharField(max_length=100)

    def __str__(self) -> str:
        return f"rebuild requested at {self.requested_at:%Y-%m-%d %H:%M} ({self.reason})"


class SequenceModelVersion(models.Model):
    """One trained sequence recommender (behaviour.ml.sequence): its parameters, time-split
    figures, artifact and lifecycle. At most one version is active (a conditional unique
    constraint); the recommendations read the active one's item vectors.
    """

    class Status(models.TextChoices):
        QUEUED = "queued"
        TRAINING = "training"
        READY = "ready"
        ACTIVE = "active"
        FAILED = "failed"
        ARCHIVED = "archived"

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    architecture = models.CharField(max_length=10, help_text="gru or sasrec")
    params = models.JSONField(default=dict, blank=True, help_text="SequenceConfig as trained.")
    dataset = models.JSONField(
        default=dict, blank=True, help_text="Events, visitors, products and the validation cut."
    )
    metrics = models.JSONField(
        default=dict, blank=True, help_text="Validation Recall@20 and its baselines."
    )
    history = models.JSONField(default=list, blank=True, help_text="Per-epoch loss and recall.")
    artifact_path = models.CharField(max_length=1000, blank=True, help_text="The .npz weights.")
    vectors_path = models.CharField(
        max_length=1000, blank=True, help_text="The .npz of product ids and item vectors."
    )
    vectors_stored_at = models.DateTimeField(
        null=True, blank=True, help_text="When its item vectors and their HNSW index were stored."
    )
    auto_activate = models.BooleanField(
        default=False, help_text="Activate when it beats the active version on validation."
    )
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-pk"]
        # Like image versions: training spends compute, activation changes every shopper's list.
        permissions = [
            ("train_sequence_model", "Can train a new sequence model version"),
            ("activate_sequence_model", "Can activate or roll back a sequence model version"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["status"], condition=Q(status="active"), name="one_active_sequence_version"
            ),
        ]

    def __str__(self) -> str:
        return f"sequence v{self.pk} {self.architecture} ({self.status})"

    @property
    def validation_recall(self) -> float | None:
        return self.metrics.get("recall")


class SequenceItemVector(models.Model):
    """One product's output vector under one sequence model version. The sequence signal is a
    maximum-inner-product search over one version's rows, through that version's HNSW index
    (similarity.vector_store.item_vectors); `vector` is untyped, so dimensions may differ."""

    version = models.ForeignKey(SequenceModelVersion, on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    vector = VectorField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["version", "product"], name="one_item_vector_per_sequence_version"
            )
        ]

    def __str__(self) -> str:
        return f"product {self.product_id} @ sequence v{self.version_id}"


class SequenceTrainingJob(HeartbeatFields):
    """Training one sequence model version on the `ml` queue; the admin shows its progress live."""

    class State(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"
        TIMED_OUT = "timed_out"

    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    version = models.ForeignKey(SequenceModelVersion, on_delete=models.CASCADE, related_name="jobs")
    progress = models.JSONField(default=dict, blank=True, help_text="Phase, epoch, recall.")
    attempts = models.PositiveSmallIntegerField(default=0)
    cancel_requested = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-pk"]

    def __str__(self) -> str:
        return f"sequence training #{self.pk} ({self.state})"

    @property
    def is_finished(self) -> bool:
        return self.state in {
            self.State.SUCCEEDED,
            self.State.FAILED,
            self.State.CANCELLED,
            self.State.TIMED_OUT,
        }


class ErasedVisitor(models.Model):
    """A shopper erased (their visitor HMAC, never the id) and when: events of theirs from
    before that moment are not stored again (an import or a resent batch still holding them),
    while later ones are a new history. Kept the retention period: an event older than that is
    refused anyway, so an older tombstone guards nothing."""

    visitor = models.CharField(max_length=64, unique=True)
    erased_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"visitor erased at {self.erased_at:%Y-%m-%d %H:%M}"
