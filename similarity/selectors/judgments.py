"""The gold set: admins' judged pairs, and how well a version's served lists agree with them.

precision@k on judged pairs, for one version: run the serving query (this version, default
filters, the rules in force) for every judged source; among its top k, count the items an admin
judged for that source, and the good ones among those. Precision = good ÷ judged, pooled over
the sources of a category (and over all sources for the overall figure), so a source with many
judged items weighs more than one with a single judged item.

Unjudged items in a top k are left out of both counts — they are neither good nor bad, just
unknown. `coverage` (judged ÷ shown) says how much of the lists the gold set speaks for: a
version that surfaces mostly unjudged products has a precision resting on few pairs.
"""

from dataclasses import dataclass, field

from catalog import selectors as catalog_selectors

from ..models import Judgment, ModelVersion
from .similar import SimilarQuery, similar_products_for

GOLD_K = 10  # the preview shows 10 per version, so the judged pairs come from such lists
OVERALL = "all categories"


@dataclass(frozen=True)
class GoldScore:
    """Counts over the top-k lists of one category's judged sources (or of all of them)."""

    category_path: str
    sources: int = 0
    shown: int = 0  # items in the top-k lists
    judged: int = 0  # of those, items an admin judged for that source
    good: int = 0  # of those, judged good

    @property
    def precision(self) -> float | None:
        return self.good / self.judged if self.judged else None

    @property
    def coverage(self) -> float | None:
        return self.judged / self.shown if self.shown else None

    def __add__(self, other: "GoldScore") -> "GoldScore":
        return GoldScore(
            self.category_path,
            self.sources + other.sources,
            self.shown + other.shown,
            self.judged + other.judged,
            self.good + other.good,
        )


@dataclass
class GoldSetReport:
    version_id: int
    k: int
    categories: list[GoldScore] = field(default_factory=list)  # sorted by path
    overall: GoldScore = field(default_factory=lambda: GoldScore(OVERALL))


def judgments_by_source() -> dict[int, tuple[str, dict[int, str]]]:
    """source id → (its category path when last judged, {target id: verdict})."""
    gold: dict[int, tuple[str, dict[int, str]]] = {}
    rows = Judgment.objects.order_by("updated_at", "pk").values_list(
        "source_id", "target_id", "verdict", "category_path"
    )
    for source_id, target_id, verdict, path in rows:
        _, verdicts = gold.get(source_id, ("", {}))
        verdicts[target_id] = verdict
        gold[source_id] = (path, verdicts)  # the newest judgment's path wins
    return gold


def judged_pair_count() -> int:
    """How many pairs admins judged, whether or not their source product is still active."""
    return Judgment.objects.count()


def verdicts_for(*, source_id: int, target_ids: list[int]) -> dict[int, str]:
    """{target id: verdict} for the judged pairs among these (the preview marks them)."""
    return dict(
        Judgment.objects.filter(source_id=source_id, target_id__in=target_ids).values_list(
            "target_id", "verdict"
        )
    )


def gold_set_precision(*, version: ModelVersion, k: int = GOLD_K) -> GoldSetReport:
    """precision@k of `version` on the judged pairs, per category and overall (module doc)."""
    gold = judgments_by_source()
    products = catalog_selectors.products_by_ids(ids=list(gold))
    per_category: dict[str, GoldScore] = {}
    for source_id, (path, verdicts) in gold.items():
        if source_id not in products:  # deactivated since it was judged
            continue
        result = similar_products_for(
            product=products[source_id], query=SimilarQuery(k=k), version=version
        )
        shown = [item.product.pk for item in result.items]
        judged = [verdicts[pid] for pid in shown if pid in verdicts]
        score = GoldScore(
            path, 1, len(shown), len(judged), judged.count(Judgment.Verdict.GOOD.value)
        )
        per_category[path] = per_category.get(path, GoldScore(path)) + score
    report = GoldSetReport(version_id=version.pk, k=k)
    report.categories = [per_category[path] for path in sorted(per_category)]
    for score in report.categories:
        report.overall = report.overall + score
    return report
