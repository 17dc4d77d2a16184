"""Keeping bought together, also viewed and trending current: increments, and full rebuilds.

Counts are additive (behaviour.ml.pair_counts: decayed weights kept at a fixed reference time),
so a beat tick only recounts the orders and visits that gained an event since the last refresh,
or hold one that leaves the "why" window, subtracts how the last refresh counted them, and
re-ranks the lists of the products whose pairs moved: the time follows the new events, not the
history. A full rebuild recounts everything from the events: when nothing was counted yet, when
asked (erasure and retention delete events, which no increment can see; the admin), when the
settings the counts depend on change, and once a day, which moves the reference time forward and
reaches lists whose products no event touched (a partner deactivated since, or a tie between
partners whose own counts moved). Increments rank by the raw decayed counts, the scorer the study
chose; with another scorer every refresh is a full one (its scores move with every n_i).

Either runs in one REPEATABLE READ transaction: every read sees one snapshot, the one recorded
for the next increment, and a reader sees the old lists or the new ones, never a mix. One refresh
at a time (an advisory lock); a second one returns at once. A catalogue write committed after
the snapshot (a product deleted while the lists naming it are written) fails the transaction
with a serialization failure: it is tried again, from a fresh snapshot that sees the write.
"""

import datetime as dt
import logging
import time
from contextlib import contextmanager, suppress

from django.db import DatabaseError, OperationalError, connection, transaction
from django.db.models import Max
from django.utils import timezone

from .. import cache
from ..models import BehaviourCountState, BehaviourRefresh, EventKey, RebuildRequest
from . import refresh_lines, refresh_runs, refresh_state
from .association_writes import SCORER, SCORER_PARAMS
from .sequence.peers import peers_rebuild

__all__ = ["SCORER", "SCORER_PARAMS", "behaviour_refresh", "refresh_due"]

logger = logging.getLogger(__name__)

LOCK_ID = 0x6265_6861  # "beha": the refresh's advisory lock (a session lock)
ERROR_INTERRUPTED = "interrupted: the process running it stopped before it finished"
# Daily: the reference time stays within a day of now (weights near 1, the lists' scores within
# 2 ** (1 / half-life days) of their value today) and catalogue changes reach every list.
FULL_REBUILD_EVERY_S = 24 * 3600
# After a full rebuild failed (its time limit, memory, the database), the daily one and those an
# erasure or retention requested wait this long while increments keep the lists moving: a
# rebuild that fails again on every beat tick leaves no tick for an increment. The admin's
# Refresh now (asked) never waits.
FULL_RETRY_AFTER_S = 6 * 3600
# A serialization failure or a deadlock: PostgreSQL's word for "try the transaction again".
RETRYABLE_SQLSTATES = ("40001", "40P01")
# Tries of one refresh: each retry follows a catalogue write that raced it, rare enough that a
# third one in a row says something else is wrong (a full rebuild takes minutes at scale).
ATTEMPTS = 3


def refresh_due() -> bool:
    """Whether a refresh has work: events arrived since the last one, or a rebuild is due."""
    state = BehaviourCountState.objects.filter(pk=1).first()
    if state is None:
        return EventKey.objects.exists()
    if _full_reason_now(state, time.time()):
        return True
    return refresh_lines.new_events_exist(state)


def behaviour_refresh(*, full: bool = False) -> BehaviourRefresh | None:
    """Bring the lists up to the events (`full`: recount everything); None when another
    refresh holds the lock."""
    now = timezone.now()
    refresh = BehaviourRefresh.objects.create(started_at=now)
    # Inside a caller's transaction (tests, scripts) the caller's own writes cannot be told
    # apart by snapshot, so only a full rebuild is exact there.
    nested = connection.in_atomic_block
    try:
        with _one_at_a_time() as held:
            if not held:
                refresh.delete()
                return None
            _interrupted_ones_end(before=now)
            asked = "asked" if full else "inside a transaction" if nested else ""
            state = BehaviourCountState.objects.filter(pk=1).first()
            reason = _full_reason_now(state, now.timestamp(), asked=asked)
            if reason:  # kept if it fails: a failed full rebuild defers the next one
                refresh.stats = {"mode": f"full ({reason})"}
                refresh.save(update_fields=["stats"])
            stats = _refresh_retried(refresh, reason=reason, nested=nested)
    except Exception as exc:  # recorded for the admin page, then raised to the task's policy
        BehaviourRefresh.objects.filter(pk=refresh.pk).update(
            state=BehaviourRefresh.State.FAILED, error=str(exc)[:5000], finished_at=timezone.now()
        )
        if refresh.stats.get("mode", "").startswith("full"):
            logger.error(
                "behaviour refresh: a %s rebuild failed; increments only for %s h: %s",
                refresh.stats["mode"],
                FULL_RETRY_AFTER_S // 3600,
                exc,
            )
        raise
    transaction.on_commit(cache.refreshed)
    logger.info("behaviour refresh: %s", stats)
    return refresh


def _refresh_retried(refresh: BehaviourRefresh, *, reason: str, nested: bool) -> dict:
    """Runs the refresh's transaction, again from a fresh snapshot when it lost a race with a
    concurrent write (not inside a caller's transaction: that one is spoilt); its stats."""
    for attempt in range(1, ATTEMPTS):
        try:
            return _refresh_once(refresh, reason=reason, nested=nested)
        except OperationalError as exc:
            if nested or getattr(exc.__cause__, "sqlstate", None) not in RETRYABLE_SQLSTATES:
                raise
            logger.warning("behaviour refresh: %s; try %s of %s", exc, attempt + 1, ATTEMPTS)
    return _refresh_once(refresh, reason=reason, nested=nested)  # the last try's error is raised


def _refresh_once(refresh: BehaviourRefresh, *, reason: str, nested: bool) -> dict:
    with transaction.atomic():
        if not nested:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        stats, events_until = _refresh(timezone.now().timestamp(), reason=reason)
        refresh.state = BehaviourRefresh.State.SUCCEEDED
        refresh.events_until, refresh.stats = events_until, stats
        refresh.finished_at = timezone.now()
        refresh.save(update_fields=["state", "events_until", "stats", "finished_at"])
    return stats


def _interrupted_ones_end(*, before) -> None:
    """Rows of refreshes still `running` while this one holds the lock were left by a process
    that stopped mid-refresh (killed, a hard time limit): the admin's history says so instead
    of showing them running for ever."""
    BehaviourRefresh.objects.filter(
        state=BehaviourRefresh.State.RUNNING, started_at__lt=before
    ).update(state=BehaviourRefresh.State.FAILED, error=ERROR_INTERRUPTED, finished_at=before)


@contextmanager
def _one_at_a_time():
    """Holds the refresh's lock (True) or says another refresh has it (False). Taken before the
    transaction starts, so its snapshot always sees what the previous refresh committed."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_ID])
        held = cursor.fetchone()[0]
    try:
        yield held
    finally:
        if held:
            # A connection lost mid-refresh took the lock with it: nothing left to release.
            with suppress(DatabaseError), connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_ID])


def _full_reason_now(state, now: float, *, asked: str = "") -> str:
    """Why the next refresh is a full rebuild ("" for an increment)."""
    if state is None:
        return "first"
    if asked:
        return asked
    if state.settings_key != refresh_state.settings_key():
        return "settings changed"  # increments cannot mix two settings' counts
    if SCORER != "raw":  # increments rank by the raw counts; other scores move with every n_i
        return f"scorer {SCORER}"
    deferrable = (
        "requested"
        if RebuildRequest.objects.exists()
        else "daily"
        if now - state.reference >= FULL_REBUILD_EVERY_S
        else ""
    )
    if deferrable and _full_failed_since(now - FULL_RETRY_AFTER_S):
        return ""
    return deferrable


def _full_failed_since(moment: float) -> bool:
    return BehaviourRefresh.objects.filter(
        state=BehaviourRefresh.State.FAILED,
        started_at__gte=dt.datetime.fromtimestamp(moment, tz=dt.UTC),
        stats__mode__startswith="full",
    ).exists()


def _refresh(now: float, *, reason: str) -> tuple[dict, dt.datetime | None]:
    """(stats, when the latest event counted was received) of a full rebuild (`reason` says
    why) or an increment."""
    state = BehaviourCountState.objects.filter(pk=1).first()
    requests = list(RebuildRequest.objects.values_list("pk", flat=True))
    snapshot = refresh_lines.snapshot_current()
    if reason:
        stats, totals = refresh_runs.rebuild(now)
        if requests:  # events were deleted (an erasure, a retention cut): the profiles follow
            stats = {**stats, "peer_profiles_rebuilt": peers_rebuild()}
        RebuildRequest.objects.filter(pk__in=requests).delete()
        reference = now
        received = EventKey.objects.aggregate(latest=Max("received_at"))["latest"]
    else:
        received = _received_until(state)
        stats, totals = refresh_runs.increment(state, now)
        reference = state.reference
    BehaviourCountState.objects.update_or_create(
        pk=1,
        defaults={
            "reference": reference,
            "counted_at": now,
            "snapshot": snapshot,
            "settings_key": refresh_state.settings_key(),
            "baskets": totals,
        },
    )
    return {"mode": f"full ({reason})" if reason else "increment", **stats}, received


def _received_until(state: BehaviourCountState) -> dt.datetime | None:
    """The last refresh's events_until, or when the latest new event was received."""
    last = BehaviourRefresh.objects.filter(state=BehaviourRefresh.State.SUCCEEDED).first()
    times = (refresh_lines.new_events_received(state), last and last.events_until)
    return max(filter(None, times), default=None)
