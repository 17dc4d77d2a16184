"""What the admin's behaviour page shows: events per kind and day, coverage, refreshes, quality."""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count
from django.db.models.functions import TruncDay
from django.utils import timezone

from catalog.models import Product

from ..models import BehaviourEvaluation, BehaviourRefresh, Event, ItemAssociation

DAYS_SHOWN = 30


@dataclass(frozen=True)
class BehaviourOverview:
    events_by_kind: dict[str, int]
    events_by_day: list[tuple[dt.date, list[int]]]  # newest first; counts in Event.Kind order
    active_products: int
    covered: dict[str, int]  # products with a list of their own, per association kind
    last_refresh: BehaviourRefresh | None
    last_failed: BehaviourRefresh | None
    evaluation: BehaviourEvaluation | None
    retention_days: int
    refresh_every_s: float


def behaviour_overview() -> BehaviourOverview:
    # Whole days in the shop's time zone (TruncDay's): a cut at now − 30 days would show a
    # 31st, partial day as if it were complete.
    first_day = timezone.localdate() - dt.timedelta(days=DAYS_SHOWN - 1)
    since = timezone.make_aware(dt.datetime.combine(first_day, dt.time.min))
    by_kind = dict(Event.objects.values_list("kind").annotate(n=Count("*")).order_by())
    daily: dict[dt.date, dict[str, int]] = {}
    rows = (
        Event.objects.filter(occurred_at__gte=since)
        .annotate(day=TruncDay("occurred_at"))
        .values_list("day", "kind")
        .annotate(n=Count("*"))
        .order_by("-day")
    )
    for day, kind, count in rows:
        daily.setdefault(day.date(), {})[kind] = count
    covered = dict(
        ItemAssociation.objects.values_list("kind")
        .annotate(n=Count("product_id", distinct=True))
        .order_by()
    )
    refreshes = BehaviourRefresh.objects.all()
    return BehaviourOverview(
        events_by_kind={kind: by_kind.get(kind, 0) for kind in Event.Kind.values},
        events_by_day=[
            (day, [counts.get(kind, 0) for kind in Event.Kind.values])
            for day, counts in daily.items()
        ],
        active_products=Product.objects.filter(is_active=True).count(),
        covered={kind: covered.get(kind, 0) for kind in ItemAssociation.Kind.values},
        last_refresh=refreshes.filter(state=BehaviourRefresh.State.SUCCEEDED).first(),
        last_failed=refreshes.filter(state=BehaviourRefresh.State.FAILED).first(),
        evaluation=BehaviourEvaluation.objects.first(),
        retention_days=settings.PRODSIM_EVENT_RETENTION_DAYS,
        refresh_every_s=settings.PRODSIM_BEHAVIOUR_REFRESH_S,
    )
