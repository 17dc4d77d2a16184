"""Verified partner keys are kept per process, and forgotten as soon as any key changes.

Transactional tests: keys are only kept outside transactions, and bumps run after commit.
"""

import datetime as dt
import re

import pytest
from django.core.cache import cache
from django.utils import timezone

from partners import keys as partner_keys
from partners.models import PartnerApiKey

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def key():
    partner_keys.forget_verified()
    row, key = PartnerApiKey.objects.create_key(name="shop", scope="read")
    return row, key


def test_a_verified_key_is_reused_without_a_query(key, django_assert_num_queries):
    row, secret = key
    assert partner_keys.verified_key(secret) == row
    with django_assert_num_queries(0):
        assert partner_keys.verified_key(secret) == row
    assert partner_keys.verified_key(secret.replace(".", ".x", 1)) is None  # wrong secret


def test_revoking_or_deleting_a_key_is_seen_at_once(key):
    row, secret = key
    assert partner_keys.verified_key(secret) == row
    row.revoked = True
    row.save()
    assert partner_keys.verified_key(secret) is None
    other, other_secret = PartnerApiKey.objects.create_key(name="other")
    assert partner_keys.verified_key(other_secret) == other
    other.delete()
    assert partner_keys.verified_key(other_secret) is None


def test_a_bump_from_another_process_makes_this_one_verify_again(key, django_assert_num_queries):
    row, secret = key
    partner_keys.verified_key(secret)
    cache.set(partner_keys.GENERATION_KEY, "bumped elsewhere", None)
    with django_assert_num_queries(1):
        assert partner_keys.verified_key(secret) == row


def test_the_api_rejects_a_key_revoked_or_expired_after_use(key, client):
    row, secret = key
    headers = {"HTTP_AUTHORIZATION": f"Api-Key {secret}"}
    assert client.get("/api/v1/model-versions/", **headers).status_code == 200
    spaced = {"HTTP_AUTHORIZATION": f"Api-Key   {secret}"}  # RFC 9110: one or more spaces
    assert client.get("/api/v1/model-versions/", **spaced).status_code == 200
    row.expiry_date = timezone.now() - dt.timedelta(seconds=1)
    row.save()
    assert client.get("/api/v1/model-versions/", **headers).status_code == 401
    row.expiry_date = None
    row.save()
    assert client.get("/api/v1/model-versions/", **headers).status_code == 200
    PartnerApiKey.objects.filter(pk=row.pk).update(revoked=True)  # bypasses save(): no bump
    assert client.get("/api/v1/model-versions/", **headers).status_code == 200
    partner_keys.keys_changed()  # what a restore or any saved key does
    assert client.get("/api/v1/model-versions/", **headers).status_code == 401


def test_the_admin_shows_a_new_key_once_and_keeps_it_out_of_cookies(admin_client):
    created = admin_client.post(
        "/admin/partners/partnerapikey/add/", {"name": "shop", "scope": "write"}
    )

    key = PartnerApiKey.objects.get(name="shop")
    secret = re.search(r'<code id="partner-key">([^<]+)</code>', created.content.decode()).group(1)
    assert PartnerApiKey.objects.get_from_key(secret) == key
    assert secret not in str(created.cookies) and "no-cache" in created["Cache-Control"]
    assert secret not in admin_client.get("/admin/partners/partnerapikey/").content.decode()
