"""Which model version serves, which lexical index is current, which fusion weights apply."""

from .. import fusion
from ..models import LexicalIndex, ModelVersion
from .serving import serving_state


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
    return serving_state().weights_for(category_path)
