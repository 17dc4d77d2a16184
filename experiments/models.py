import secrets

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

VARIANT_NOT_FOR_WIDGET = "This variant does not apply to this widget."
CANDIDATE_MISSING = "Name the version the candidate arm should see."
CANDIDATE_IGNORED = (
    "This variant does not serve a version of its own: leave this empty (the candidate arm "
    "sees the strip from the version everyone sees)."
)


def new_salt() -> str:
    return secrets.token_hex(8)


class Widget(models.TextChoices):
    SIMILAR = "similar", "Similar items"
    RECOMMENDED = "recommended", "Recommended for you"
    RECENTLY_VIEWED = "recently_viewed", "Recently viewed"
    BOUGHT_TOGETHER = "bought_together", "Frequently bought together"
    ALSO_VIEWED = "also_viewed", "Shoppers who viewed this also viewed"
    TRENDING = "trending", "Trending"


class Experiment(models.Model):
    """An A/B test of one widget: `share` % of sessions see the candidate variant of it.

    The other sessions (the control arm) see the widget as it is served to everyone. The
    variant says what the candidate arm sees instead: another image model version's similar
    items, another sequence model version's (or no repeats in) recommendations, content
    neighbours instead of bought together / also viewed, the newest products instead of
    trending. Assignment hashes the experiment's salt with the hashed visitor id, so a shopper
    stays in one arm for the whole experiment and a new experiment reshuffles the sessions. At
    most one experiment runs per widget.
    """

    class Arm(models.TextChoices):
        CONTROL = "control"
        CANDIDATE = "candidate"

    class Variant(models.TextChoices):
        MODEL_VERSION = "model_version", "another image model version (similar items)"
        SEQUENCE_VERSION = "sequence_version", "another sequence model version (recommended)"
        WITHOUT_REPEATS = "without_repeats", "nothing already bought (recommended)"
        SIMILAR_ITEMS = "similar_items", "similar items instead (bought together, also viewed)"
        NEWEST = "newest", "the newest products instead (trending)"

    name = models.CharField(max_length=200)
    widget = models.CharField(
        max_length=20,
        choices=[(w.value, w.label) for w in Widget if w != Widget.RECENTLY_VIEWED],
        default=Widget.SIMILAR,
        help_text="The strip this experiment changes.",
    )
    variant = models.CharField(
        max_length=20, choices=Variant.choices, default=Variant.MODEL_VERSION
    )
    candidate = models.ForeignKey(
        "similarity.ModelVersion",
        on_delete=models.PROTECT,
        related_name="experiments",
        null=True,
        blank=True,
        help_text="The image model version the candidate arm sees (variant: model version).",
    )
    sequence_candidate = models.ForeignKey(
        "behaviour.SequenceModelVersion",
        on_delete=models.PROTECT,
        related_name="experiments",
        null=True,
        blank=True,
        help_text="The sequence version the candidate arm sees (variant: sequence version).",
    )
    share = models.PositiveSmallIntegerField(
        validators=[MaxValueValidator(100)],
        help_text="Percent of sessions sent to the candidate version (0–100).",
    )
    salt = models.CharField(max_length=32, default=new_salt, editable=False)
    active = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-pk"]
        # Starting or stopping changes what shoppers see, like activating a model version.
        permissions = [("run_experiment", "Can start or stop an A/B experiment")]
        constraints = [
            models.UniqueConstraint(
                fields=["widget"], condition=Q(active=True), name="one_running_experiment"
            ),
            models.CheckConstraint(
                condition=~Q(variant="model_version") | Q(candidate__isnull=False),
                name="experiment_model_version_named",
            ),
            models.CheckConstraint(
                condition=~Q(variant="sequence_version") | Q(sequence_candidate__isnull=False),
                name="experiment_sequence_version_named",
            ),
            models.CheckConstraint(
                condition=Q(share__gte=0, share__lte=100), name="experiment_share_percent"
            ),
            models.CheckConstraint(
                condition=Q(active=False) | Q(started_at__isnull=False, ended_at__isnull=True),
                name="running_experiment_started_not_ended",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """The variant must fit the widget, and a version variant must name its version and no
        other: a version the candidate arm never sees would be credited with its results."""
        if self.variant not in WIDGET_VARIANTS.get(self.widget, ()):
            raise ValidationError({"variant": VARIANT_NOT_FOR_WIDGET})
        named = {"candidate": self.candidate_id, "sequence_candidate": self.sequence_candidate_id}
        needed = VARIANT_VERSION_FIELD.get(self.variant)
        errors = {}
        for field, version_id in named.items():
            if field == needed and version_id is None:
                errors[field] = CANDIDATE_MISSING
            elif field != needed and version_id is not None:
                errors[field] = CANDIDATE_IGNORED
        if errors:
            raise ValidationError(errors)


# What a candidate arm may see instead of each widget (the shopper's own history has none).
WIDGET_VARIANTS = {
    Widget.SIMILAR: {Experiment.Variant.MODEL_VERSION},
    Widget.RECOMMENDED: {Experiment.Variant.SEQUENCE_VERSION, Experiment.Variant.WITHOUT_REPEATS},
    Widget.BOUGHT_TOGETHER: {Experiment.Variant.SIMILAR_ITEMS},
    Widget.ALSO_VIEWED: {Experiment.Variant.SIMILAR_ITEMS},
    Widget.TRENDING: {Experiment.Variant.NEWEST},
}
# The version field a variant serves its candidate arm from; the other variants serve none.
VARIANT_VERSION_FIELD = {
    Experiment.Variant.MODEL_VERSION: "candidate",
    Experiment.Variant.SEQUENCE_VERSION: "sequence_candidate",
}


class Impression(models.Model):
    """One product shown at one position of a widget on a rendered page.

    `session_hash` is the shopper's hashed visitor id, as their behaviour events store it
    (experiments.sessions; rows logged before that: an HMAC of a per-session id), never a raw
    id or the session key; indexed, for the shopper's export and erasure (blank once that shopper
    was erased while another shopper's click on it is kept). `model_version` is the
    version that produced the list (none for "recently viewed", which is the shopper's history).
    """

    Widget = Widget

    widget = models.CharField(max_length=20, choices=Widget.choices)
    # No constraint, as events: deleting a product leaves the experiments' results as they were
    # (and a delete is not held up rewriting every impression of it); the SKU it had stays known
    # (catalog.DeletedProduct) for the shopper's export and a late click.
    source_product = models.ForeignKey(
        "catalog.Product",
        null=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    shown_product = models.ForeignKey(
        "catalog.Product", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    position = models.PositiveSmallIntegerField(help_text="1 = first in the widget.")
    model_version = models.ForeignKey(
        "similarity.ModelVersion", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    experiment = models.ForeignKey(
        Experiment, null=True, on_delete=models.SET_NULL, related_name="impressions"
    )
    arm = models.CharField(max_length=10, choices=Experiment.Arm.choices, blank=True)
    session_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(position__gte=1), name="impression_position_1")
        ]
        indexes = [
            models.Index(fields=["experiment", "widget", "arm"]),
            models.Index(fields=["session_hash"], name="impression_shopper"),
        ]

    def __str__(self) -> str:
        return f"{self.widget} #{self.position}: {self.shown_product_id}"


class Click(models.Model):
    """One click on an impression's link; every click is a row, repeated clicks included."""

    impression = models.ForeignKey(Impression, on_delete=models.CASCADE, related_name="clicks")
    session_hash = models.CharField(max_length=64, blank=True, help_text="Of the clicking shopper.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["session_hash"], name="click_shopper")]

    def __str__(self) -> str:
        return f"click on {self.impression_id}"
