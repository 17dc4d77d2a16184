"""The demo history: seeded and repeatable, bundles across categories, seasons, all accepted."""

import datetime as dt
import io
from collections import defaultdict
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from behaviour.demo import (
    EARLIEST_MINUTES_AGO,
    RECENT_DAYS,
    DemoProduct,
    demo_history_events,
    demo_history_load,
)
from behaviour.models import BehaviourRefresh, Event, ItemAssociation
from behaviour.selectors import bought_together
from behaviour.selectors.tiers import TIER_BOUGHT_TOGETHER
from behaviour.services.refresh import behaviour_refresh
from catalog.models import Product
from prodsim_site.first_run import load_demo_history
from similarity.selectors import SimilarQuery
from tests.catalog.factories import add_product

NOW = dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC)
CATEGORIES = {
    "MUG": "Home > Kitchen > Mugs",
    "PLT": "Home > Kitchen > Plates",
    "LMP": "Home > Decor > Lamps",
    "SNK": "Fashion > Shoes > Sneakers",
    "HAT": "Fashion > Accessories > Hats",
}
SMALL = {"orders": 120, "visits": 60}


def tiny_products() -> list[DemoProduct]:
    return [
        DemoProduct(f"{code}-{n:03d}-RED", path, Decimal(f"{10 + n}.90"))  # as demo SKUs read
        for code, path in CATEGORIES.items()
        for n in range(3)
    ]


def tiny_shop() -> None:
    for product in tiny_products():
        add_product(product.sku, product.sku.title(), category=product.category, price="12.90")


def purchases_by_order(events: list[dict]) -> dict[str, list[dict]]:
    orders = defaultdict(list)
    for event in events:
        if event["kind"] == "purchase":
            orders[event["order_id"]].append(event)
    return orders


def test_a_seed_always_gives_the_same_history():
    first = demo_history_events(products=tiny_products(), now=NOW, seed=3, **SMALL)
    again = demo_history_events(products=tiny_products()[::-1], now=NOW, seed=3, **SMALL)
    other = demo_history_events(products=tiny_products(), now=NOW, seed=4, **SMALL)

    assert first == again
    assert first.events != other.events
    assert [e["event_id"] for e in first.events[:2]] == ["demo-3-0000000", "demo-3-0000001"]
    assert len({e["event_id"] for e in first.events}) == len(first.events)


def test_bundles_join_products_of_different_categories():
    history = demo_history_events(products=tiny_products(), now=NOW, seed=7, **SMALL)

    assert len(history.bundles) == 15 // 6
    for bundle in history.bundles:
        categories = {sku.split("-")[0] for sku in bundle.skus}
        assert 2 <= len(bundle.skus) == len(categories) <= 3
    bought_together = {
        tuple(sorted(e["sku"] for e in lines))
        for lines in purchases_by_order(history.events).values()
    }
    assert any(tuple(sorted(b.skus)) in bought_together for b in history.bundles)


def test_events_lie_in_the_past_window_and_orders_are_complete():
    history = demo_history_events(products=tiny_products(), now=NOW, seed=7, days=120, **SMALL)

    times = [dt.datetime.fromisoformat(e["occurred_at"]) for e in history.events]
    assert min(times) >= NOW - dt.timedelta(days=120, hours=1)
    assert max(times) <= NOW - dt.timedelta(minutes=EARLIEST_MINUTES_AGO)
    orders = purchases_by_order(history.events)
    assert len(orders) == SMALL["orders"]
    prices = {p.sku: str(p.price) for p in tiny_products()}
    for lines in orders.values():
        assert len({(e["visitor_id"], e["occurred_at"]) for e in lines}) == 1
        assert all(e["unit_price"] == prices[e["sku"]] and e["quantity"] in (1, 2) for e in lines)
    kinds = {e["kind"] for e in history.events}
    assert kinds == {"view", "add_to_cart", "purchase"}


@pytest.mark.parametrize(
    ("seed", "season", "days_ago"), [(4, "recent", (0, RECENT_DAYS)), (5, "past", (90, 180))]
)
def test_seasonal_bundles_sell_only_in_their_season(seed, season, days_ago):
    history = demo_history_events(
        products=tiny_products(), now=NOW, seed=seed, orders=600, visits=0
    )
    (seasonal,) = [b.skus for b in history.bundles if b.season == season]
    ages = [
        (NOW - dt.datetime.fromisoformat(lines[0]["occurred_at"])) / dt.timedelta(days=1)
        for lines in purchases_by_order(history.events).values()
        if tuple(e["sku"] for e in lines) == seasonal
    ]
    assert len(ages) > 10
    assert all(days_ago[0] <= age <= days_ago[1] for age in ages)


@pytest.mark.django_db
def test_loading_records_every_event_once_and_the_refresh_finds_the_bundles():
    tiny_shop()

    loaded = demo_history_load(seed=7, **SMALL)
    again = demo_history_load(seed=7, **SMALL)
    behaviour_refresh()

    expected = len(demo_history_events(products=tiny_products(), now=NOW, seed=7, **SMALL).events)
    assert (loaded.accepted, loaded.duplicates, loaded.rejected) == (expected, 0, 0)
    assert (again.accepted, again.duplicates, again.rejected) == (0, expected, 0)
    assert set(Event.objects.values_list("source", flat=True)) == {"import"}
    bundle = loaded.bundles[0]  # the best seller
    product = Product.objects.get(sku=bundle.skus[0])
    items = bought_together(product=product, query=SimilarQuery(k=3, with_images=False)).items
    partners = [item.product.sku for item in items if item.tier == TIER_BOUGHT_TOGETHER]
    assert set(bundle.skus[1:]) <= set(partners)


@pytest.mark.django_db
def test_the_command_loads_and_refreshes(capsys):
    tiny_shop()

    call_command("demo_history", seed=7, orders=20, visits=10)

    out = capsys.readouterr().out
    count = Event.objects.count()
    assert out.splitlines() == [
        f"{count} events recorded, 0 already there, 0 rejected (2 bundles)",
        "lists refreshed",
    ]


@pytest.mark.django_db
def test_the_command_leaves_a_real_shop_alone_unless_told_otherwise():
    """The demo's history belongs to the demo catalogue; a shopper's visit to the demo shop
    (an event of its own) does not make it a real one."""
    from behaviour.management.commands.demo_history import ERROR_NOT_A_DEMO_SHOP
    from behaviour.services.ingest import events_record
    from tests.behaviour.factories import event

    tiny_shop()
    sku = Product.objects.order_by("pk").first().sku
    assert events_record(items=[event(sku)])[0].status == "accepted"  # someone browsed it
    call_command("demo_history", seed=7, orders=20, visits=10, stdout=io.StringIO())
    recorded = Event.objects.count()
    add_product("REAL-1", "The shop's own mug")

    with pytest.raises(CommandError) as refused:
        call_command("demo_history", seed=8, orders=20, visits=10)
    assert str(refused.value) == ERROR_NOT_A_DEMO_SHOP.format(sku="REAL-1")
    assert Event.objects.count() == recorded

    call_command(
        "demo_history", seed=8, orders=20, visits=10, into_this_shop=True, stdout=io.StringIO()
    )
    assert Event.objects.count() > recorded


@pytest.mark.django_db
@pytest.mark.parametrize("option", ["orders", "visits"])
def test_the_command_refuses_a_negative_count(option):
    with pytest.raises(CommandError, match=f"--{option} must be 0 or more, not -5"):
        call_command("demo_history", f"--{option}", "-5")

    assert not Event.objects.exists()


@pytest.mark.django_db
def test_make_run_loads_the_history_right_after_the_demo_catalogue():
    tiny_shop()
    out = io.StringIO()

    load_demo_history(out)

    count = Event.objects.count()
    assert out.getvalue() == (
        f"Loaded a demo order and browsing history ({count} events) and refreshed "
        "bought together, also viewed and trending.\n"
    )
    assert BehaviourRefresh.objects.get().state == BehaviourRefresh.State.SUCCEEDED
    assert ItemAssociation.objects.filter(kind="bought_together").exists()
