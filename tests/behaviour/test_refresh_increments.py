"""Incremental refresh: after batches that extend orders and visits across refreshes and events
that leave the why window, the kept counts equal a brute-force recount and the lists equal a full
rebuild's. Transactional: what is new is told by snapshots, which need separate commits."""

import datetime as dt
import itertools
import random
import threading
import types

import pytest
from django.db import connection, transaction
from django.utils import timezone

from behaviour.models import (
    BehaviourCountState,
    BehaviourRefresh,
    EventKey,
    ItemAssociation,
    ItemCount,
    PairCount,
    ProductPopularity,
    RebuildRequest,
)
from behaviour.services.ingest import events_record
from behaviour.services.refresh import behaviour_refresh, refresh_due
from behaviour.services.visitors import visitor_erase
from tests.catalog.factories import product

pytestmark = pytest.mark.django_db(transaction=True)

HALF_LIFE_DAYS, TRENDING_HALF_LIFE_DAYS, GAP_S = 30.0, 7.0, 1800
SKUS = "ABCDEFGH"
_ids = itertools.count(1)


class Clock:
    """The refresh's clock, moved forward by hours (the shop's events keep real times)."""

    def __init__(self, monkeypatch):
        self.offset = dt.timedelta()
        fake = types.SimpleNamespace(now=lambda: timezone.now() + self.offset)
        monkeypatch.setattr("behaviour.services.refresh.timezone", fake)

    def advance(self, hours: float) -> None:
        self.offset += dt.timedelta(hours=hours)


@pytest.fixture
def world(settings, monkeypatch):
    settings.PRODSIM_BEHAVIOUR_HALF_LIFE_DAYS = HALF_LIFE_DAYS
    settings.PRODSIM_TRENDING_HALF_LIFE_DAYS = TRENDING_HALF_LIFE_DAYS
    settings.PRODSIM_SESSION_GAP_S = GAP_S
    settings.PRODSIM_BEHAVIOUR_WHY_DAYS = 1  # a window the clock can move events out of
    ids = {sku: product(sku=sku, title=f"Product {sku}").pk for sku in SKUS}
    return types.SimpleNamespace(ids=ids, clock=Clock(monkeypatch), sent=[])


def send(world, sku, visitor, kind, at: dt.datetime, order_id: str = "") -> None:
    values = {
        "event_id": f"i{next(_ids)}",
        "kind": kind,
        "sku": sku,
        "visitor_id": visitor,
        "occurred_at": at.isoformat(),
    }
    if kind == "purchase":
        values.update(order_id=order_id, quantity=1, unit_price="5.00")
    [outcome] = events_record(items=[values])
    assert outcome.status == "accepted", outcome
    world.sent.append((world.ids[sku], visitor, kind, order_id, at.timestamp()))


def random_batch(world, rng: random.Random, when: dt.datetime, orders, visitors) -> None:
    """Purchases into new and already started orders, views by new and returning visitors,
    spread from 30 hours before `when` (outside the 1-day window soon) to `when`."""
    for _ in range(12):
        at = when - dt.timedelta(hours=rng.uniform(0, 30))
        if rng.random() < 0.5:
            order = rng.choice(orders)
            send(world, rng.choice(SKUS), f"buyer-{order}", "purchase", at, order)
        else:
            visitor = rng.choice(visitors)
            kind = rng.choice(["view", "view", "click"])
            send(world, rng.choice(SKUS), visitor, kind, at)


def brute_force(world, now: float) -> dict:
    """(kind, product, other) -> (decayed weight at now, baskets, recent) from world.sent."""
    window = now - 86_400.0
    baskets: dict[tuple, list] = {}
    for product_id, _visitor, kind, order_id, at in world.sent:
        if kind == "purchase" and order_id:
            baskets.setdefault(("bought_together", order_id), []).append((product_id, at))
    views: dict[str, list] = {}
    for product_id, visitor, kind, _, at in world.sent:
        if kind in ("view", "click"):
            views.setdefault(visitor, []).append((at, product_id))
    for visitor, lines in views.items():
        lines.sort()
        session = 0
        for number, (at, product_id) in enumerate(lines):
            if number and at - lines[number - 1][0] > GAP_S:
                session += 1
            baskets.setdefault(("also_viewed", visitor, session), []).append((product_id, at))
    counts: dict[tuple, list] = {}
    for key, lines in baskets.items():
        items = {p for p, _ in lines}
        recent_items = {p for p, at in lines if at >= window}
        weight = 0.5 ** ((now - max(at for _, at in lines)) / (HALF_LIFE_DAYS * 86_400.0))
        for a, b in itertools.permutations(sorted(items | recent_items), 2):
            entry = counts.setdefault((key[0], a, b), [0.0, 0, 0])
            if a in items and b in items:
                entry[0] += weight
                entry[1] += 1
            entry[2] += int(a in recent_items and b in recent_items)
    return {key: tuple(value) for key, value in counts.items()}


def kept_pairs(now: float) -> dict:
    """The kept pair counts with weights decayed to `now`."""
    state = BehaviourCountState.objects.get()
    factor = 0.5 ** ((now - state.reference) / (HALF_LIFE_DAYS * 86_400.0))
    return {
        (row.kind, row.product_id, row.other_id): (row.weight * factor, row.baskets, row.recent)
        for row in PairCount.objects.all()
    }


def lists_and_trending(now: float) -> tuple[dict, dict]:
    """Each list as ranked (other, recent) tuples; trending scores decayed to `now`."""
    lists: dict = {}
    rows = ItemAssociation.objects.order_by("kind", "product_id", "-score", "other_id")
    for row in rows:
        lists.setdefault((row.kind, row.product_id), []).append((row.other_id, row.recent))
    state = BehaviourCountState.objects.get()
    factor = 0.5 ** ((now - state.reference) / (TRENDING_HALF_LIFE_DAYS * 86_400.0))
    trending = {
        row.product_id: (pytest.approx(row.score * factor, rel=1e-9), row.purchases, row.views)
        for row in ProductPopularity.objects.all()
    }
    return lists, trending


def assert_counts_equal(found: dict, expected: dict) -> None:
    assert set(found) == set(expected)
    for key, (weight, baskets, recent) in expected.items():
        assert found[key][1:] == (baskets, recent), key
        assert found[key][0] == pytest.approx(weight, rel=1e-9, abs=1e-12), key


def test_increments_equal_a_brute_force_count_and_a_full_rebuild(world):
    rng = random.Random(16)
    orders, visitors = [f"o{n}" for n in range(6)], [f"v{n}" for n in range(5)]
    start = timezone.now()
    random_batch(world, rng, start, orders[:4], visitors[:3])
    first = behaviour_refresh()
    for _tick in range(3):
        world.clock.advance(hours=5)  # events of 19-24 h ago leave the 1-day window
        random_batch(world, rng, start, orders, visitors)  # old orders and visits grow
        refresh = behaviour_refresh()
        assert refresh.stats["mode"] == "increment", refresh.stats
    now = BehaviourCountState.objects.get().counted_at

    assert first.stats["mode"] == "full (first)"
    assert_counts_equal(kept_pairs(now), brute_force(world, now))
    common = start.timestamp()  # trending scores of both compared at one moment
    incremental = lists_and_trending(common)
    assert incremental[0] and incremental[1]

    rebuilt = behaviour_refresh(full=True)
    assert rebuilt.stats["mode"] == "full (asked)"
    now_full = BehaviourCountState.objects.get().counted_at
    assert_counts_equal(kept_pairs(now_full), brute_force(world, now_full))
    # Rankings within a list never depend on when weights were taken; trending at one time.
    assert lists_and_trending(common) == incremental


def test_an_order_completed_after_a_refresh_pairs_its_new_line_with_the_earlier_ones(world):
    now = timezone.now()
    send(world, "A", "w", "purchase", now, "late-order")
    send(world, "B", "w", "purchase", now, "late-order")
    behaviour_refresh()
    send(world, "C", "w", "purchase", now + dt.timedelta(seconds=1), "late-order")
    assert refresh_due() is True

    refresh = behaviour_refresh()

    assert refresh.stats["mode"] == "increment"
    latest = EventKey.objects.order_by("-received_at").first().received_at
    assert refresh.events_until == latest  # the admin's "events received up to here"
    pairs = kept_pairs(BehaviourCountState.objects.get().counted_at)
    ids = world.ids
    assert {(a, b) for kind, a, b in pairs} == {
        (ids[x], ids[y]) for x, y in itertools.permutations("ABC", 2)
    }
    assert {value[1] for value in pairs.values()} == {1}  # one order, not two
    partners = ItemAssociation.objects.filter(product_id=ids["C"]).values_list("other_id")
    assert {row[0] for row in partners} == {ids["A"], ids["B"]}
    assert refresh_due() is False


def test_erasure_requests_a_full_rebuild_that_drops_the_visitors_share(world):
    now = timezone.now()
    for order, visitor in (("p1", "keep"), ("p2", "erase")):
        send(world, "A", visitor, "purchase", now, order)
        send(world, "B", visitor, "purchase", now, order)
    behaviour_refresh()
    assert PairCount.objects.get(product_id=world.ids["A"], other_id=world.ids["B"]).baskets == 2

    visitor_erase(visitor_id="erase")
    assert RebuildRequest.objects.count() == 1 and refresh_due() is True
    refresh = behaviour_refresh()

    assert refresh.stats["mode"] == "full (requested)"
    assert PairCount.objects.get(product_id=world.ids["A"], other_id=world.ids["B"]).baskets == 1
    assert not RebuildRequest.objects.exists()
    assert ItemCount.objects.get(kind="purchases", product_id=world.ids["A"]).baskets == 1


def test_a_refresh_without_new_events_changes_nothing(world):
    send(world, "A", "x", "purchase", timezone.now(), "q1")
    send(world, "B", "x", "purchase", timezone.now(), "q1")
    behaviour_refresh()
    before = list(ItemAssociation.objects.values_list("product_id", "other_id", "score"))

    refresh = behaviour_refresh()

    assert refresh.state == BehaviourRefresh.State.SUCCEEDED
    assert refresh.stats == {"mode": "increment", "events": 0}
    assert list(ItemAssociation.objects.values_list("product_id", "other_id", "score")) == before


def test_an_increment_that_fails_midway_leaves_the_counts_for_the_next_one(world, monkeypatch):
    now = timezone.now()
    send(world, "A", "y", "purchase", now, "r1")
    send(world, "B", "y", "purchase", now, "r1")
    behaviour_refresh()
    send(world, "C", "y", "purchase", now, "r1")
    before = kept_pairs(now.timestamp())

    def crash(*args, **kwargs):
        raise RuntimeError("worker lost its database connection")

    with monkeypatch.context() as patch:
        patch.setattr("behaviour.services.refresh_runs.associations_replace", crash)
        with pytest.raises(RuntimeError):
            behaviour_refresh()
    assert kept_pairs(now.timestamp()) == before  # counts and snapshot rolled back together

    assert behaviour_refresh().stats["mode"] == "increment"
    counted_at = BehaviourCountState.objects.get().counted_at
    assert_counts_equal(kept_pairs(counted_at), brute_force(world, counted_at))


def test_a_failed_daily_rebuild_lets_increments_run_until_it_is_tried_again(world, monkeypatch):
    """A full rebuild past its time limit (a large shop's retained events) failed, and every
    beat tick tried it again: no increment ever ran and the lists stayed as they were."""
    now = timezone.now()
    send(world, "A", "w", "purchase", now, "t1")
    send(world, "B", "w", "purchase", now, "t1")
    behaviour_refresh()
    world.clock.advance(25)  # the daily rebuild is due

    def out_of_time(*args, **kwargs):
        raise RuntimeError("SoftTimeLimitExceeded()")

    with monkeypatch.context() as patch:
        patch.setattr("behaviour.services.refresh_runs.counts_all", out_of_time)
        with pytest.raises(RuntimeError):
            behaviour_refresh()
    failed = BehaviourRefresh.objects.filter(state="failed").get()
    assert failed.stats == {"mode": "full (daily)"}
    send(world, "C", "w", "purchase", timezone.now(), "t2")
    send(world, "A", "w", "purchase", timezone.now(), "t2")

    assert refresh_due() is True  # the new events, not the deferred rebuild
    increment = behaviour_refresh()
    world.clock.advance(7)
    retried = behaviour_refresh()

    assert increment.stats["mode"] == "increment" and increment.stats["events"] == 2
    assert PairCount.objects.filter(product_id=world.ids["A"], other_id=world.ids["C"]).exists()
    assert retried.stats["mode"] == "full (daily)"


def test_a_batch_committed_after_a_refresh_started_is_counted_by_the_next_once(world):
    """The race received_at cannot settle: a batch written before a refresh reads the events
    but committed after it. Its key's transaction is not in that refresh's snapshot."""
    now = timezone.now()
    send(world, "A", "z", "purchase", now, "s1")
    behaviour_refresh()
    written, release = threading.Event(), threading.Event()

    def slow_batch():
        try:
            with transaction.atomic():
                send(world, "B", "z", "purchase", now, "s1")
                written.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    thread = threading.Thread(target=slow_batch)
    thread.start()
    assert written.wait(timeout=30)
    during = behaviour_refresh()  # the batch is written, not committed
    release.set()
    thread.join()
    after = behaviour_refresh()
    again = behaviour_refresh()

    assert during.stats["events"] == 0
    assert after.stats["events"] == 1 and again.stats["events"] == 0
    pair = PairCount.objects.get(product_id=world.ids["A"], other_id=world.ids["B"])
    assert pair.baskets == 1


def test_a_refresh_while_another_holds_the_lock_returns_at_once(world):
    from behaviour.services.refresh import LOCK_ID

    send(world, "A", "q", "purchase", timezone.now(), "l1")
    holding, release = threading.Event(), threading.Event()

    def other_refresh():
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_lock(%s)", [LOCK_ID])
                holding.set()
                release.wait(timeout=30)
                cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_ID])
        finally:
            connection.close()

    thread = threading.Thread(target=other_refresh)
    thread.start()
    assert holding.wait(timeout=30)
    try:
        assert behaviour_refresh() is None
    finally:
        release.set()
        thread.join()

    assert not BehaviourRefresh.objects.exists()  # the skipped refresh leaves no row
    assert behaviour_refresh().stats["mode"] == "full (first)"
