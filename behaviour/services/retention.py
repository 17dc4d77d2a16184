"""Retention: events older than PRODSIM_EVENT_RETENTION_DAYS go, whole months at a time.

Months wholly before the cut-off lose their partition (a DROP TABLE: instant, no vacuum), each
in a short transaction of its own that gives up rather than hold up event writes (the rows are
then deleted like the month holding the cut-off, and the empty partition goes another day); the
month holding the cut-off loses its older rows. Event keys older than the cut-off go too (an
event that old would be rejected anyway), and so do the SKUs kept for products deleted before
it (catalog's DeletedProduct), so nothing of an expired event is left. Deleted events
leave the counts only by a full rebuild, which retention requests when it deleted any.

This runs daily, later when beat is down: until then every read of events leaves out the older
ones itself (`events_cutoff`), so an expired event is never served nor counted.
"""

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from catalog.services import deleted_products_forget

from .. import partitions
from ..models import BehaviourRefresh, Event, EventKey
from . import erasure_guard
from .refresh_queue import behaviour_refresh_enqueue
from .validation import MAX_CLOCK_SKEW

# How long a partition's DROP (or CREATE ahead) may wait for readers (a refresh) before it is
# left for another day: every event write queues behind a waiting DROP or CREATE.
PARTITION_DROP_WAIT_MS = 500
REFRESH_HISTORY_DAYS = 30  # the admin's overview shows the last refreshes; older ones are noise


def refresh_history_prune(*, now: dt.datetime | None = None) -> int:
    """Delete the refreshes' history past REFRESH_HISTORY_DAYS (a refresh every 30 s adds 2,880
    rows a day, and each refresh reads the table), keeping the newest succeeded and failed one,
    which the admin's overview shows; the number deleted."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=REFRESH_HISTORY_DAYS)
    kept = [
        pk
        for state in (BehaviourRefresh.State.SUCCEEDED, BehaviourRefresh.State.FAILED)
        if (pk := BehaviourRefresh.objects.filter(state=state).values_list("pk", flat=True).first())
    ]
    old = BehaviourRefresh.objects.filter(started_at__lt=cutoff).exclude(
        state=BehaviourRefresh.State.RUNNING
    )
    deleted, _ = old.exclude(pk__in=kept).delete()
    return deleted


def events_cutoff(now: dt.datetime | None = None) -> dt.datetime:
    """The oldest occurred_at an event may have to be read (served, counted, trained on)."""
    return (now or timezone.now()) - dt.timedelta(days=settings.PRODSIM_EVENT_RETENTION_DAYS)


def events_retention_enforce(*, now: dt.datetime | None = None) -> dict:
    """Apply retention; what went: {"partitions": [...], "events": n, "keys": n,
    "tombstones": n} (erasures older than the cut-off: every event they would refuse is
    refused as too old anyway), the refresh history past REFRESH_HISTORY_DAYS ("refreshes": n),
    and the partitions made ahead ("partitions_created": this month's and next month's,
    partitions.partitions_ahead)."""
    cutoff = events_cutoff(now)
    created = partitions.partitions_ahead(
        (now or timezone.now()).date(), lock_timeout_ms=PARTITION_DROP_WAIT_MS
    )
    cut_month = partitions.month_start(cutoff)
    dropped = [
        name
        for name, month in partitions.partitions_list()
        if month < cut_month
        and partitions.partition_drop(name, lock_timeout_ms=PARTITION_DROP_WAIT_MS)
    ]
    with transaction.atomic():  # row deletes: they never block event writes
        refreshes = refresh_history_prune(now=now)
        events, _ = Event.objects.filter(occurred_at__lt=cutoff).delete()
        keys, _ = EventKey.objects.filter(occurred_at__lt=cutoff).delete()
        tombstones = erasure_guard.tombstones_expire(cutoff=cutoff)
        # No event left names them: one dated ahead within the clock skew that ingestion
        # accepts may have been recorded just before its product was deleted.
        deleted_products_forget(before=cutoff - MAX_CLOCK_SKEW)
        if dropped or events:
            behaviour_refresh_enqueue(force=True, reason="retention")
    return {
        "partitions": dropped,
        "events": events,
        "keys": keys,
        "tombstones": tombstones,
        "partitions_created": created,
        "refreshes": refreshes,
    }
