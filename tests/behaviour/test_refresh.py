"""The refresh: lists equal a brute-force count, decay, erasure leaves with the next refresh."""

import datetime as dt
import itertools
import math

import pytest
from django.utils import timezone

from behaviour.models import BehaviourRefresh, ItemAssociation, ProductPopularity
from behaviour.services.ingest import events_record
from behaviour.services.refresh import ERROR_INTERRUPTED, behaviour_refresh, refresh_due
from behaviour.services.visitors import visitor_erase, visitor_events_export
from tests.catalog.factories import product

from .factories import event, order

pytestmark = pytest.mark.django_db

ORDERS = {
    "o1": ["A", "B", "C"],
    "o2": ["A", "B"],
    "o3": ["B", "C"],
    "o4": ["A", "D"],
}


def shop() -> dict[str, int]:
    return {sku: product(sku=sku, title=f"Product {sku}").pk for sku in "ABCDE"}


def history(days_ago: float = 1):
    for number, (order_id, skus) in enumerate(ORDERS.items()):
        events_record(items=order(skus, f"visitor{number}", order_id, days_ago=days_ago))


def pair_counts() -> dict[tuple[str, str], int]:
    counts = {}
    for skus in ORDERS.values():
        for a, b in itertools.permutations(skus, 2):
            counts[a, b] = counts.get((a, b), 0) + 1
    return counts


def stored(kind=ItemAssociation.Kind.BOUGHT_TOGETHER) -> dict[tuple[str, str], ItemAssociation]:
    rows = ItemAssociation.objects.filter(kind=kind).select_related("product", "other")
    return {(row.product.sku, row.other.sku): row for row in rows}


def test_bought_together_support_equals_a_brute_force_count(settings):
    settings.PRODSIM_BEHAVIOUR_HALF_LIFE_DAYS = None
    shop()
    history()

    refresh = behaviour_refresh()

    assert refresh.state == BehaviourRefresh.State.SUCCEEDED
    rows = stored()
    assert set(rows) == set(pair_counts())
    for pair, row in rows.items():
        assert row.support == pytest.approx(pair_counts()[pair])
        assert row.recent == pair_counts()[pair]
    assert ("B", "C") in rows and ("A", "D") in rows


def test_decay_halves_an_order_after_one_half_life(settings):
    settings.PRODSIM_BEHAVIOUR_HALF_LIFE_DAYS = 30
    shop()
    events_record(items=order(["A", "B"], "v1", "old", days_ago=30))
    events_record(items=order(["A", "B"], "v2", "new", days_ago=0))
    for number, skus in enumerate([["C", "D"], ["C", "E"], ["D", "E"]]):
        events_record(items=order(skus, f"other{number}", f"x{number}", days_ago=0))

    behaviour_refresh()

    assert stored()["A", "B"].support == pytest.approx(1.5, rel=1e-3)


def test_trending_counts_purchases_and_views_decayed(settings):
    settings.PRODSIM_TRENDING_HALF_LIFE_DAYS = 7
    ids = shop()
    events_record(items=order(["A"], "v1", "o1", days_ago=0))
    events_record(items=[event("B", "v2", "view", days_ago=0)])

    behaviour_refresh()

    popularity = {row.product_id: row for row in ProductPopularity.objects.all()}
    assert popularity[ids["A"]].score == pytest.approx(1.0, rel=1e-3)
    assert popularity[ids["A"]].purchases == 1
    assert popularity[ids["B"]].score == pytest.approx(0.1, rel=1e-3)
    assert popularity[ids["B"]].views == 1


# Transactional: "since the last refresh" is told by snapshots, which need separate commits.
@pytest.mark.django_db(transaction=True)
def test_a_refresh_is_due_only_when_events_arrived_since_the_last_one():
    shop()
    assert refresh_due() is False
    history()
    assert refresh_due() is True
    behaviour_refresh()
    assert refresh_due() is False
    events_record(items=[event("E", "v9")])
    assert refresh_due() is True


def test_erasing_a_visitor_removes_their_events_and_their_share_at_the_next_refresh(settings):
    settings.PRODSIM_BEHAVIOUR_HALF_LIFE_DAYS = None
    shop()
    history()
    behaviour_refresh()
    assert stored()["A", "D"].support == pytest.approx(1)

    exported = visitor_events_export(visitor_id="visitor3")
    deleted = visitor_erase(visitor_id="visitor3")
    behaviour_refresh()

    assert [(e["sku"], e["order_id"], e["kind"]) for e in exported] == [
        ("A", "o4", "purchase"),
        ("D", "o4", "purchase"),
    ]
    assert deleted == 2
    assert visitor_events_export(visitor_id="visitor3") == []
    assert ("A", "D") not in stored()


def test_also_viewed_pairs_views_of_one_visit_not_of_two(settings):
    settings.PRODSIM_SESSION_GAP_S = 1800
    settings.PRODSIM_BEHAVIOUR_HALF_LIFE_DAYS = None
    shop()
    visit = [event("A", "v1", days_ago=1), event("B", "v1", days_ago=1 - 60 / 86400)]
    later = [event("C", "v1", days_ago=0.5)]  # hours later: another visit
    others = [event("A", "v2", days_ago=1), event("B", "v2", days_ago=1), event("D", "v3")]
    events_record(items=visit + later + others)

    behaviour_refresh()

    pairs = set(stored(ItemAssociation.Kind.ALSO_VIEWED))
    assert ("A", "B") in pairs
    assert not {p for p in pairs if "C" in p}
    assert math.isfinite(stored(ItemAssociation.Kind.ALSO_VIEWED)["A", "B"].score)


def test_a_refresh_that_fails_midway_leaves_the_previous_lists_whole(settings, monkeypatch):
    settings.PRODSIM_BEHAVIOUR_HALF_LIFE_DAYS = None
    shop()
    history()
    behaviour_refresh()
    before = {pair: row.support for pair, row in stored().items()}
    events_record(items=order(["C", "E"], "late", "o9"))

    def crash(*args, **kwargs):
        raise RuntimeError("worker lost its database connection")

    # Bought together is rewritten first; the crash comes while trending is written.
    monkeypatch.setattr("behaviour.services.refresh_runs.popularity_replace", crash)
    with pytest.raises(RuntimeError):
        behaviour_refresh()

    assert {pair: row.support for pair, row in stored().items()} == before
    failed = BehaviourRefresh.objects.filter(state=BehaviourRefresh.State.FAILED).get()
    assert failed.error == "worker lost its database connection"


@pytest.mark.django_db
def test_a_refresh_left_running_by_a_killed_process_is_marked_interrupted_by_the_next():
    killed = BehaviourRefresh.objects.create(
        started_at=timezone.now() - dt.timedelta(minutes=5)  # its worker was killed mid-way
    )

    behaviour_refresh(full=True)

    killed.refresh_from_db()
    assert (killed.state, killed.error) == ("failed", ERROR_INTERRUPTED)
    assert BehaviourRefresh.objects.filter(state="running").count() == 0
