"""Rebuilding bought together, also viewed and trending from the events, in one transaction.

The events are read as NumPy arrays and counted by behaviour.ml (no per-pair Python), then each
product's best partners replace the previous lists at once: a reader sees the old lists or the
new ones, never a mix. Erased visitors' events are gone from the table, so their share leaves
with the next refresh. One refresh at a time (an advisory lock); a second one returns at once.
"""

import datetime as dt
import logging

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from behaviour.ml import cooccurrence, scorers

from .. import cache
from ..models import BehaviourRefresh, EventKey, ItemAssociation
from .association_writes import associations_replace, popularity_replace
from .event_arrays import EventArrays, event_arrays

logger = logging.getLogger(__name__)

LOCK_ID = 0x6265_6861  # "beha": pg_try_advisory_xact_lock key of the refresh
PARTNERS_PER_PRODUCT = 30  # more than any page or API k (max 50 is cut by filters: rarely)


def refresh_due() -> bool:
    """Whether events arrived since the last successful refresh (or none ran yet)."""
    last = BehaviourRefresh.objects.filter(state=BehaviourRefresh.State.SUCCEEDED).first()
    if last is None:
        return EventKey.objects.exists()
    return EventKey.objects.filter(received_at__gt=last.events_until).exists()


def behaviour_refresh() -> BehaviourRefresh | None:
    """Recount everything from the events; None when another refresh holds the lock."""
    now = timezone.now()
    refresh = BehaviourRefresh.objects.create(started_at=now)
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [LOCK_ID])
                if not cursor.fetchone()[0]:
                    refresh.delete()
                    return None
            events_until = (
                EventKey.objects.order_by("-received_at")
                .values_list("received_at", flat=True)
                .first()
            )
            stats = _rebuild(now)
            refresh.state, refresh.events_until = BehaviourRefresh.State.SUCCEEDED, events_until
            refresh.stats, refresh.finished_at = stats, timezone.now()
            refresh.save(update_fields=["state", "events_until", "stats", "finished_at"])
    except Exception as exc:  # recorded for the admin page, then raised to the task's policy
        BehaviourRefresh.objects.filter(pk=refresh.pk).update(
            state=BehaviourRefresh.State.FAILED, error=str(exc)[:5000], finished_at=timezone.now()
        )
        raise
    transaction.on_commit(cache.refreshed)
    logger.info("behaviour refresh: %s", stats)
    return refresh


def _rebuild(now: dt.datetime) -> dict:
    arrays = event_arrays()
    stamp = now.timestamp()
    stats = {"events": int(len(arrays.products)), "products": int(len(arrays.product_ids))}
    for kind, baskets in (
        (ItemAssociation.Kind.BOUGHT_TOGETHER, arrays.order_baskets()),
        (ItemAssociation.Kind.ALSO_VIEWED, arrays.view_sessions(settings.PRODSIM_SESSION_GAP_S)),
    ):
        stats[kind.value] = associations_replace(kind, _partners(arrays, baskets, stamp), arrays)
    stats["trending"] = popularity_replace(arrays, stamp)
    return stats


def _partners(arrays: EventArrays, baskets, now: float) -> dict:
    """Each product's best partners: (rows, cols, scores, support, recent) arrays over indices."""
    keys, lines = baskets
    n = len(arrays.product_ids)
    if not len(lines):
        return {}
    items, times = arrays.products[lines], arrays.times[lines]
    half_life = settings.PRODSIM_BEHAVIOUR_HALF_LIFE_DAYS
    co = cooccurrence.fit(keys, items, times, n, now, half_life_days=half_life)
    scores = scorers.score(co, SCORER, **SCORER_PARAMS)
    top, top_scores = scorers.top_k(
        co.rows, co.cols, scores, n, k=PARTNERS_PER_PRODUCT, tie_break=co.item_counts
    )
    window = times >= now - settings.PRODSIM_BEHAVIOUR_WHY_DAYS * cooccurrence.SECONDS_PER_DAY
    recent = cooccurrence.fit(keys[window], items[window], times[window], n, now)
    rows, ranks = np.nonzero(top >= 0)
    cols = top[rows, ranks]
    return {
        "rows": rows,
        "cols": cols,
        "scores": top_scores[rows, ranks],
        "support": _pair_values(co, rows, cols),
        "recent": _pair_values(recent, rows, cols),
    }


def _pair_values(co: cooccurrence.Cooccurrence, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """co.counts at the (rows, cols) pairs, 0 where the pair is not stored."""
    n = np.int64(co.n_items)
    stored = co.rows * n + co.cols  # sorted: rows then cols
    wanted = rows.astype(np.int64) * n + cols
    if not len(stored):
        return np.zeros(len(wanted))
    at = np.minimum(np.searchsorted(stored, wanted), len(stored) - 1)
    return np.where(stored[at] == wanted, co.counts[at], 0.0)


# Chosen on the dev protocol's validation split (docs/BENCHMARKS.md lists every scorer measured):
# raw decayed co-purchase counts beat every popularity-corrected score (cosine, LLR, lift,
# Jaccard, shrunk cosine, conditional) at every half-life, because the protocol rewards partners
# often bought with the item, which is what the counts estimate.
SCORER = cooccurrence.DEFAULT_SCORER
SCORER_PARAMS: dict = {}
