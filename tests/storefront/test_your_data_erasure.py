"""Your data's erasure beyond the events: the session's A/B log (impressions of what its strips
showed, among them its own recently viewed products, and its clicks) and, for a signed-in
customer, what their other sessions (other devices) remember of their browsing."""

import json

import pytest
from django.contrib.admin.models import ADDITION, DELETION, LogEntry
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.test import Client

from behaviour.models import Event
from behaviour.visitors import visitor_hash
from experiments.models import Click, Impression
from experiments.sessions import session_hash_if_any
from storefront.shopper import customer_visitor_id
from tests.catalog.factories import add_product

pytestmark = pytest.mark.django_db
PASSWORD = "a long enough password"


@pytest.fixture
def shop():
    for sku in ("MUG-1", "LMP-1", "CUP-1"):
        add_product(sku, f"Product {sku}", price="9.90")


def browse(client: Client) -> str:
    """View three products and click the first recently viewed item; the session's hash."""
    for sku in ("MUG-1", "LMP-1"):
        client.get(f"/products/{sku}/")
    client.get(client.get("/products/CUP-1/").context["recently_viewed"][0].click_url)
    return session_hash_if_any(session=client.session)


def sign_in(client: Client, username: str = "ada"):
    response = client.post(
        "/account/sign-in/", {"username": username, "password": PASSWORD, "next": "/"}
    )
    assert response.status_code == 302


def test_erasing_deletes_the_sessions_impressions_and_clicks(shop):
    client, other = Client(), Client()
    erased = browse(client)
    kept = browse(other)
    assert Impression.objects.filter(widget="recently_viewed", session_hash=erased).exists()

    client.post("/your-data/erase/")

    assert not Impression.objects.filter(session_hash=erased).exists()
    assert not Click.objects.filter(session_hash=erased).exists()
    assert Impression.objects.filter(session_hash=kept).exists()
    assert Click.objects.filter(session_hash=kept).count() == 1
    exported = json.loads(client.get("/your-data/export/").content)
    assert exported["impressions"] == [] and exported["clicks"] == []


def test_a_customers_erasure_ends_their_other_sessions_and_their_ab_log(shop):
    user = User.objects.create_user(username="ada", password=PASSWORD)
    User.objects.create_user(username="bob", password=PASSWORD)
    laptop, phone, bobs = Client(), Client(), Client()
    for client, name in ((laptop, "ada"), (phone, "ada"), (bobs, "bob")):
        sign_in(client, name)
    phones, bobs_hash = browse(phone), browse(bobs)
    phone_key = phone.session.session_key

    laptop.post("/your-data/erase/")

    assert not Event.objects.filter(visitor=visitor_hash(customer_visitor_id(user.pk))).exists()
    assert not Session.objects.filter(session_key=phone_key).exists()
    assert not Impression.objects.filter(session_hash=phones).exists()
    assert not Click.objects.filter(session_hash=phones).exists()
    kept = json.loads(phone.get("/your-data/export/").content)  # signed out: a new session
    assert kept["recently_viewed"] == [] and kept["impressions"] == []
    assert b'id="sign-out"' in laptop.get("/your-data/").content  # this device stays in
    assert b'id="sign-out"' in bobs.get("/your-data/").content  # nobody else's ends
    assert Impression.objects.filter(session_hash=bobs_hash).exists()


def test_a_page_that_read_the_visitor_id_before_an_erasure_in_another_tab_records_nothing(
    shop, monkeypatch
):
    from django.conf import settings
    from django.contrib.auth.models import AnonymousUser
    from django.contrib.sessions.backends.db import SessionStore
    from django.test import RequestFactory

    from storefront import shopper

    browser = Client()
    browser.get("/products/MUG-1/")
    key = browser.cookies[settings.SESSION_COOKIE_NAME].value
    visitor = SessionStore(key)[shopper.VISITOR_KEY]
    record = shopper.storefront_events_record

    def erased_in_another_tab_first(**event):
        other_tab = RequestFactory().post("/your-data/erase/")
        other_tab.session, other_tab.user = SessionStore(key), AnonymousUser()
        shopper.visitor_forget(other_tab)
        other_tab.session.save()
        return record(**event)

    monkeypatch.setattr(shopper, "storefront_events_record", erased_in_another_tab_first)
    browser.get("/products/LMP-1/")  # reads the visitor id, then the erasure, then the view

    # Under the id the session forgot, no export or erasure could ever reach it.
    assert not Event.objects.filter(visitor=visitor_hash(visitor)).exists()


def test_deleting_a_customers_account_erases_them(shop, admin_client):
    """Nobody can sign in to ask for an erasure once the account is gone (and the partner API
    refuses the customers' reserved ids), so the deletion is the erasure: events, sessions and
    their A/B logs go; another customer's stay."""
    user = User.objects.create_user(username="ada", password=PASSWORD)
    User.objects.create_user(username="bob", password=PASSWORD)
    phone, bobs = Client(), Client()
    sign_in(phone, "ada"), sign_in(bobs, "bob")
    phones, bobs_hash = browse(phone), browse(bobs)
    phone.post("/basket/add/MUG-1/", {"quantity": "1"}), phone.post("/checkout/")
    phone_key = phone.session.session_key
    customer = visitor_hash(customer_visitor_id(user.pk))
    assert Event.objects.filter(visitor=customer, kind="purchase").exists()

    admin_client.post(f"/admin/auth/user/{user.pk}/delete/", {"post": "yes"})

    assert not User.objects.filter(pk=user.pk).exists()
    assert not Event.objects.filter(visitor=customer).exists()
    assert not Session.objects.filter(session_key=phone_key).exists()
    assert not Impression.objects.filter(session_hash=phones).exists()
    assert Impression.objects.filter(session_hash=bobs_hash).exists()
    assert b'id="sign-out"' in bobs.get("/your-data/").content


def test_deleting_accounts_lists_their_sessions_before_any_erasure_holds_the_event_lock(
    shop, admin_client, monkeypatch
):
    """Listing an account's sessions decodes every live session (seconds in a busy shop); the
    erasure holds the lock every event write takes until the deletion commits. Listed after
    the erasure, each account of a bulk deletion held product pages' views behind every later
    account's listing."""
    from django.db import connection

    from behaviour.services.erasure_guard import ERASURE_LOCK
    from storefront import devices

    users = [User.objects.create_user(username=name, password=PASSWORD) for name in ("ada", "eve")]
    for name in ("ada", "eve"):
        sign_in(Client(), name)
    list_sessions, held_while_listing = devices.user_sessions, []

    def listing(user, **kwargs):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                " AND pid = pg_backend_pid() AND objid = %s",
                [ERASURE_LOCK],
            )
            held_while_listing.append(cursor.fetchone()[0])
        return list_sessions(user, **kwargs)

    monkeypatch.setattr(devices, "user_sessions", listing)

    response = admin_client.post(
        "/admin/auth/user/",
        {"action": "delete_selected", "_selected_action": [u.pk for u in users], "post": "yes"},
    )

    assert response.status_code == 302
    assert not User.objects.filter(pk__in=[u.pk for u in users]).exists()
    assert held_while_listing == [0, 0]
    assert not Session.objects.exclude(session_key=admin_client.session.session_key).exists()


def test_deleting_an_account_in_the_admin_leaves_no_history_naming_it(admin_client):
    """The admin's history (django_admin_log) names an account as it was called, often an
    e-mail address: its addition, and the deletion's own entry, written before the delete."""
    name = "jane.doe@example.com"
    added = admin_client.post(
        "/admin/auth/user/add/",
        {"username": name, "password1": PASSWORD, "password2": PASSWORD, "usable_password": "true"},
    )
    assert added.status_code == 302
    customer = User.objects.get(username=name)

    admin_client.post(f"/admin/auth/user/{customer.pk}/delete/", {"post": "yes"})

    assert not User.objects.filter(pk=customer.pk).exists()
    history = LogEntry.objects.filter(object_id=str(customer.pk))
    assert sorted(history.values_list("action_flag", flat=True)) == [ADDITION, DELETION]
    assert {entry.object_repr for entry in history} == {f"user #{customer.pk} (erased)"}
    assert not LogEntry.objects.filter(object_repr__icontains="jane").exists()


def test_a_page_that_read_the_visitor_id_before_an_erasure_logs_no_impressions(shop, monkeypatch):
    """As its events (above): impressions written after an erasure in another tab, by a page
    that read the visitor id before it, would lie under an id nobody can reach any more."""
    from django.conf import settings
    from django.contrib.auth.models import AnonymousUser
    from django.contrib.sessions.backends.db import SessionStore
    from django.test import RequestFactory

    from experiments import services as experiment_services
    from storefront import shopper

    browser = Client()
    browser.get("/products/MUG-1/")
    key = browser.cookies[settings.SESSION_COOKIE_NAME].value
    log = experiment_services.impressions_log

    def erased_in_another_tab_first(**kwargs):
        other_tab = RequestFactory().post("/your-data/erase/")
        other_tab.session, other_tab.user = SessionStore(key), AnonymousUser()
        shopper.visitor_forget(other_tab)
        other_tab.session.save()
        return log(**kwargs)

    monkeypatch.setattr(experiment_services, "impressions_log", erased_in_another_tab_first)
    response = browser.get("/products/LMP-1/")

    assert not Impression.objects.filter(source_product__sku="LMP-1").exists()
    # The page still shows its strips, linked to the products themselves.
    assert [item.click_url for item in response.context["recently_viewed"]] == [""]


def test_a_customers_erasure_reaches_what_they_browsed_on_a_device_they_signed_out_of(shop):
    """Signing out flushes that device's session; the A/B log is the customer's, not the
    session's, so their later erasure from another device still finds it (as their events)."""
    user = User.objects.create_user(username="ada", password=PASSWORD)
    User.objects.create_user(username="bob", password=PASSWORD)
    old, now, bobs = Client(), Client(), Client()
    sign_in(old), sign_in(bobs, "bob")
    browsed = browse(old)
    bobs_hash = browse(bobs)
    old.post("/account/sign-out/")
    assert browsed == visitor_hash(customer_visitor_id(user.pk))
    assert Impression.objects.filter(session_hash=browsed).exists()

    sign_in(now)
    now.post("/your-data/erase/")

    assert not Impression.objects.filter(session_hash=browsed).exists()
    assert not Click.objects.filter(session_hash=browsed).exists()
    assert Impression.objects.filter(session_hash=bobs_hash).exists()


def test_deleting_an_account_erases_what_it_browsed_on_a_device_it_signed_out_of(
    shop, admin_client
):
    user = User.objects.create_user(username="ada", password=PASSWORD)
    old = Client()
    sign_in(old)
    browsed = browse(old)
    old.post("/account/sign-out/")

    admin_client.post(f"/admin/auth/user/{user.pk}/delete/", {"post": "yes"})

    assert not Impression.objects.filter(session_hash=browsed).exists()
    assert not Click.objects.filter(session_hash=browsed).exists()


def test_rotating_the_secret_key_keeps_a_shoppers_log_erasable(shop, settings):
    """Django's rotation (new SECRET_KEY, the old one in SECRET_KEY_FALLBACKS) keeps sessions;
    the A/B log is keyed by the visitor key, so the same shopper stays the same shopper."""
    browser = Client()
    before = browse(browser)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "rotated-" + "k" * 60

    after = browse(browser)
    browser.post("/your-data/erase/")

    assert after == before
    assert not Impression.objects.filter(session_hash=before).exists()


def test_erasing_forgets_the_order_the_session_shows(shop):
    client = Client()
    client.post("/basket/add/MUG-1/", {"quantity": "1"})
    client.post("/checkout/")
    assert client.get("/checkout/placed/").status_code == 200

    client.post("/your-data/erase/")

    assert client.get("/checkout/placed/")["Location"] == "/basket/"
