"""A crawler's product page: served as to everyone, with nothing recorded about it."""

import pytest

GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)


@pytest.mark.django_db
def test_a_crawlers_product_page_records_no_view_and_starts_no_visitor(client):
    from django.urls import reverse

    from behaviour.models import Event
    from tests.catalog.factories import product

    product(sku="MUG")
    page = reverse("storefront:product-detail", kwargs={"sku": "MUG"})

    crawled = client.get(page, HTTP_USER_AGENT=GOOGLEBOT)
    assert crawled.status_code == 200
    assert Event.objects.count() == 0 and "sessionid" not in crawled.cookies

    client.get(page, HTTP_USER_AGENT=CHROME)  # a shopper's view still counts
    assert Event.objects.count() == 1


@pytest.mark.django_db
def test_a_crawler_posting_the_basket_forms_records_nothing(client):
    """Headless browsers submit forms too: their adds and orders feed no list or model."""
    from behaviour.models import Event
    from tests.catalog.factories import add_product

    add_product("MUG-1", "Red mug", price="9.90")
    headless = CHROME.replace("Chrome/", "HeadlessChrome/")

    client.post("/basket/add/MUG-1/", {"quantity": "1"}, HTTP_USER_AGENT=headless)
    placed = client.post("/checkout/", HTTP_USER_AGENT=headless, follow=True)

    assert placed.status_code == 200  # the page works as for anyone
    assert Event.objects.count() == 0
