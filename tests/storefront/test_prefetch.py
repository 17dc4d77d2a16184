"""A browser's prefetch or prerender of a storefront page records nothing: the page is answered
503 (browsers then drop the prefetch) and the shopper's real visit is recorded as usual."""

import pytest

from behaviour.models import Event
from catalog.models import Product
from experiments.models import Impression
from storefront import history
from storefront.views import PREFETCH_REFUSED
from tests.catalog.factories import add_product

pytestmark = pytest.mark.django_db

PREFETCHES = [
    {"HTTP_SEC_PURPOSE": "prefetch;prerender"},  # Chrome's address bar, speculation rules
    {"HTTP_SEC_PURPOSE": "prefetch"},
    {"HTTP_PURPOSE": "prefetch"},  # <link rel=prefetch>
]


@pytest.mark.parametrize("headers", PREFETCHES, ids=["prerender", "prefetch", "purpose"])
@pytest.mark.parametrize("path", ["/products/MUG-1/", "/"])
def test_a_prefetched_page_records_no_view_impression_or_history(client, headers, path):
    """A prerendered product page nobody opened was in Recently viewed, fed also viewed and the
    sequence model, and logged impressions that diluted every experiment's click-through rate."""
    for sku in ("MUG-1", "MUG-2", "MUG-3"):
        add_product(sku, f"Mug {sku}")
    client.get("/products/MUG-2/")  # a shopper with a history: the home page shows strips
    before = (Event.objects.count(), Impression.objects.count())

    prefetched = client.get(path, **headers)

    assert (prefetched.status_code, prefetched.content.decode()) == (503, PREFETCH_REFUSED)
    assert (Event.objects.count(), Impression.objects.count()) == before
    assert history.recently_viewed_ids(client.session) == [Product.objects.get(sku="MUG-2").pk]
    visited = client.get(path)
    assert visited.status_code == 200
    assert Impression.objects.count() > before[1]  # the real visit logs its strips
