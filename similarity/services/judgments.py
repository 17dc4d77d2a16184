"""The admins' gold set: recording a verdict on a pair shown in the preview (no TensorFlow)."""

from catalog.models import Product

from ..models import Judgment

ERROR_SELF_PAIR = "a product cannot be judged against itself"


class JudgmentError(ValueError):
    """The pair cannot be judged."""


def judgment_record(*, source: Product, target: Product, verdict: str, user=None) -> Judgment:
    """Store the verdict on (source, target); marking the pair again replaces the verdict.

    The source's category path is taken now, so the gold set stays grouped as it was judged.
    """
    if source.pk == target.pk:
        raise JudgmentError(ERROR_SELF_PAIR)
    judgment, _created = Judgment.objects.update_or_create(
        source=source,
        target=target,
        defaults={
            "verdict": Judgment.Verdict(verdict),
            "category_path": source.category.path if source.category_id else "",
            "user": user,
        },
    )
    return judgment
