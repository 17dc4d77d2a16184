"""Each arm's shoppers, and its impressions and clicked impressions summed per shopper, for CTR
intervals that take the shopper, the unit the split assigns, as the sampled unit
(stats.ShopperSums)."""

from django.db import connection
from django.db.models import Count, F, Q, QuerySet, Sum

from .. import stats
from ..models import Experiment


def shopper_sums(impressions: QuerySet, counted: Q) -> dict[str, stats.ShopperSums]:
    """Per arm: the per-shopper counts of `impressions`, summed in the database (one row per
    arm, however many shoppers); `counted` says which clicks count."""
    per_shopper = impressions.values("arm", "session_hash").annotate(
        n=Count("id", distinct=True), c=Count("id", distinct=True, filter=counted)
    )
    sums = {}
    for arm in Experiment.Arm.values:
        row = per_shopper.filter(arm=arm).aggregate(
            shoppers=Count("session_hash"),
            impressions=Sum("n", default=0),
            clicked=Sum("c", default=0),
            impressions_squared=Sum(F("n") * F("n"), default=0),
            clicked_squared=Sum(F("c") * F("c"), default=0),
            product=Sum(F("n") * F("c"), default=0),
        )
        sums[arm] = stats.ShopperSums(**row)
    return sums


def shoppers_per_arm(impressions: QuerySet) -> dict[str, int]:
    """Each shopper counted once, in the arm of their newest impression.

    A shopper who signs in mid-experiment brings their anonymous impressions, in the arm their
    anonymous id drew, to their customer id, which draws its own arm
    (services.shopper_log_merge): counted in every arm they have impressions in, such shoppers
    would skew the sample ratio check of a fair split. Their newest arm is one fair draw."""
    newest = (
        impressions.order_by("session_hash", "-created_at", "-id")
        .distinct("session_hash")
        .values("arm")
    )
    sql, params = newest.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT arm, count(*) FROM ({sql}) AS newest GROUP BY arm", params)
        return dict(cursor.fetchall())
