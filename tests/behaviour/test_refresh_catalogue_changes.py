"""The refresh follows the catalogue: a product back on sale gets its lists back at the next
increment, as a full rebuild would give them, and a product deleted while a refresh writes the
lists leaves both the deletion and the refresh successful."""

import threading

import pytest
from django.db import connection

from behaviour.models import BehaviourRefresh, ItemAssociation, ProductPopularity
from behaviour.services import refresh_runs
from behaviour.services.ingest import events_record
from behaviour.services.refresh import behaviour_refresh
from catalog.models import Product
from catalog.services import product_delete
from tests.catalog.factories import product

from .factories import order

pytestmark = pytest.mark.django_db(transaction=True)


def _shop() -> None:
    for sku in "ABCDE":
        product(sku=sku, title=f"Product {sku}")
    assert events_record(items=order(["A", "B"], "v1", "o1") + order(["A", "C"], "v2", "o2"))


def _on_sale(sku: str, active: bool) -> None:
    Product.objects.filter(sku=sku).update(is_active=active)


def _lists() -> tuple[dict, set]:
    lists: dict = {}
    for row in ItemAssociation.objects.order_by("kind", "product_id", "-score", "other_id"):
        lists.setdefault((row.kind, row.product.sku), []).append(row.other.sku)
    return lists, set(ProductPopularity.objects.values_list("product__sku", flat=True))


def _increment_equals_a_rebuild() -> None:
    assert events_record(items=order(["D", "E"], "v9", "o9"))  # unrelated events arrive
    assert behaviour_refresh().stats["mode"] == "increment"
    incremental = _lists()
    behaviour_refresh(full=True)
    assert incremental == _lists()
    assert incremental[0][("bought_together", "B")] == ["A"]
    assert "B" in incremental[0][("bought_together", "A")] and "B" in incremental[1]


def test_a_product_withdrawn_during_the_daily_rebuild_gets_its_lists_back_when_on_sale():
    _shop()
    behaviour_refresh()
    _on_sale("B", False)
    assert behaviour_refresh(full=True).stats["mode"] == "full (asked)"  # the daily one
    _on_sale("B", True)

    _increment_equals_a_rebuild()


def test_a_product_back_on_sale_returns_to_a_partners_list_reranked_while_it_was_away():
    _shop()
    behaviour_refresh()
    _on_sale("B", False)
    assert events_record(items=order(["A", "C"], "v3", "o3"))  # A's list is ranked without B
    assert behaviour_refresh().stats["mode"] == "increment"
    _on_sale("B", True)

    _increment_equals_a_rebuild()


def _in_thread(target, results: dict, name: str) -> threading.Thread:
    def run():
        try:
            results[name] = target()
        except Exception as exc:  # noqa: BLE001 - the test reports it
            results[name] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.mark.parametrize(
    "step, after",
    [("associations_replace", False), ("popularity_replace", False), ("rebuild", True)],
)
def test_a_product_deleted_while_a_full_rebuild_writes_the_lists(monkeypatch, step, after):
    """The rebuild is held before (or after) one of its steps while B is deleted."""
    _shop()
    paused, release = threading.Event(), threading.Event()
    original = getattr(refresh_runs, step)

    def held(*args, **kwargs):
        answer = original(*args, **kwargs) if after else None
        if not paused.is_set():
            paused.set()
            release.wait(timeout=30)
        return answer if after else original(*args, **kwargs)

    monkeypatch.setattr(refresh_runs, step, held)
    results: dict = {}
    refresh = _in_thread(lambda: behaviour_refresh(full=True), results, "refresh")
    assert paused.wait(timeout=30)
    deletion = _in_thread(lambda: product_delete(sku="B"), results, "delete")
    deletion.join(timeout=3)  # it may wait for the refresh's locks
    release.set()
    refresh.join(timeout=60)
    deletion.join(timeout=60)

    assert results["delete"] is True, results["delete"]
    assert isinstance(results["refresh"], BehaviourRefresh), results["refresh"]
    assert not ItemAssociation.objects.filter(other__sku="B").exists()
