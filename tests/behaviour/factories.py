"""Builders for behaviour tests: events as partners send them, and a refreshed history."""

import datetime as dt
import itertools

from django.utils import timezone

_ids = itertools.count(1)


def event(sku: str, visitor: str = "v1", kind: str = "view", *, days_ago: float = 1, **extra):
    """One event dict as the API takes it (a fresh event_id unless given)."""
    at = timezone.now() - dt.timedelta(days=days_ago)
    values = {
        "event_id": f"e{next(_ids)}",
        "kind": kind,
        "sku": sku,
        "visitor_id": visitor,
        "occurred_at": at.isoformat(),
    }
    if kind == "purchase":
        values.update(
            order_id=extra.pop("order_id", f"o{next(_ids)}"), quantity=1, unit_price="9.90"
        )
    values.update(extra)
    return values


def order(skus: list[str], visitor: str, order_id: str, *, days_ago: float = 1) -> list[dict]:
    """Purchase events of one order: one line per SKU."""
    return [event(sku, visitor, "purchase", days_ago=days_ago, order_id=order_id) for sku in skus]


def bought_together(one: str, other: str, score: float = 5.0, *, both_ways: bool = False) -> None:
    """What a refresh leaves after `score` orders holding both SKUs: `one`'s partner `other`
    (and `other`'s partner `one` when `both_ways`)."""
    from behaviour.models import ItemAssociation
    from catalog.models import Product

    pairs = [(one, other), (other, one)] if both_ways else [(one, other)]
    for source, target in pairs:
        ItemAssociation.objects.create(
            kind=ItemAssociation.Kind.BOUGHT_TOGETHER,
            product=Product.objects.get(sku=source),
            other=Product.objects.get(sku=target),
            score=score,
            support=score,
            recent=int(score),
        )


def copy_cut_short(monkeypatch, error: BaseException) -> None:
    """Storing an import's file stops after its first chunk is written (Ctrl-C, a full disk)."""
    from django.core.files import File

    real_chunks = File.chunks

    def chunks(self, chunk_size=None):
        for number, chunk in enumerate(real_chunks(self, chunk_size)):
            if number:
                raise error
            yield chunk

    monkeypatch.setattr(File, "chunks", chunks)


def recommendations(client, visitor: str, query: str = "k=3&explain=true"):
    return client.get(f"/api/v1/visitors/{visitor}/recommendations/?{query}")


def shop(skus: str = "ABCDE") -> None:
    """A is bought together with B, C with D (as a refresh leaves them); B sells most."""
    from behaviour.models import ProductPopularity
    from catalog.models import Product
    from tests.catalog.factories import product

    for sku in skus:
        product(sku=sku, title=f"Product {sku}")
    for one, other, score in (("A", "B", 3.0), ("C", "D", 1.0)):
        bought_together(one, other, score, both_ways=True)
    for sku, score in (("B", 3.0), ("A", 2.0), ("D", 1.0), ("C", 0.5)):
        ProductPopularity.objects.create(product=Product.objects.get(sku=sku), score=score)
