"""Which model version serves, which lexical index is current, which fusion weights apply."""

from django.conf import settings
from django.db.models import Q

from .. import fusion
from ..models import FusionWeights, LexicalIndex, ModelVersion


def active_version() -> ModelVersion | None:
    return ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).first()


def rollback_target() -> ModelVersion | None:
    """The version a rollback reactivates: the most recently active one before the current."""
    current = active_version()
    return (
        ModelVersion.objects.filter(status=ModelVersion.Status.READY, activated_at__isnull=False)
        .exclude(pk=current.pk if current else None)
        .order_by("-activated_at")
        .first()
    )


def current_lexical_index() -> LexicalIndex | None:
    # The IDF table (megabytes of JSON for a large catalogue) loads only where it is read.
    return LexicalIndex.objects.filter(is_current=True).defer("idf").first()


def fusion_weights(*, category_path: str) -> fusion.Weights:
    """The deepest category's weights on the path, else the global row, else the defaults."""
    levels = category_path.split(" > ") if category_path else []
    paths = [" > ".join(levels[:depth]) for depth in range(len(levels), 0, -1)]
    rows = {
        row.category.path if row.category else "": row
        for row in FusionWeights.objects.filter(
            Q(category__path__in=paths) | Q(category__isnull=True)
        ).select_related("category")
    }
    row = next((rows[path] for path in [*paths, ""] if path in rows), None)
    if row is None:
        return fusion.Weights(**settings.PRODSIM_FUSION_WEIGHTS)
    return fusion.Weights(*(getattr(row, name) for name in fusion.SIGNALS))
