"""The admin preview: two versions' lists side by side, and judging pairs from it."""

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse

from similarity.admin_views.preview import ERROR_NO_PERMISSION
from similarity.models import Judgment
from tests.similarity import gold_fixtures
from tests.similarity.gold_fixtures import MUGS

pytestmark = pytest.mark.django_db

PREVIEW = "similarity_admin:preview"
JUDGE = "similarity_admin:judge"


@pytest.fixture
def catalogue():
    return gold_fixtures.build()


def preview_url(sku: str, candidate) -> str:
    return f"{reverse(PREVIEW)}?sku={sku}&candidate={candidate.pk}"


def columns(response) -> list[tuple[int, list[str]]]:
    return [
        (column["version"].pk, [item.product.sku for item in column["items"]])
        for column in response.context["columns"]
    ]


def test_preview_shows_the_active_and_the_candidate_lists_side_by_side(admin_client, catalogue):
    _, v1, v2 = catalogue

    response = admin_client.get(preview_url("A", v2))

    assert response.status_code == 200
    # Mugs by their cosine with A under each version, then the hats (cosine 0) by id.
    assert columns(response) == [
        (v1.pk, ["B", "C", "D", "E", "F", "G", "H", "I"]),
        (v2.pk, ["D", "B", "E", "C", "F", "G", "H", "I"]),
    ]
    page = response.content.decode()
    assert page.count('class="preview-item"') == 16  # every item is in both lists
    assert 'id="preview-active"' in page and 'id="preview-candidate"' in page
    assert "image 0.95 · 0.950" in page  # B under v1: (1 + 0.9) / 2, all of the fused score


def test_an_unknown_candidate_still_shows_the_active_list(admin_client, catalogue):
    _, v1, _ = catalogue

    response = admin_client.get(reverse(PREVIEW), {"sku": "F", "candidate": 999999})

    assert [
        (c["version"] and c["version"].pk, [i.product.sku for i in c["items"]])
        for c in response.context["columns"]
    ] == [(v1.pk, ["G", "H", "I", "A", "B", "C", "D", "E"]), (None, [])]
    assert "Candidate version: Select a valid choice." in response.content.decode()


def test_preview_search_lists_matching_products(admin_client, catalogue):
    _, _, v2 = catalogue

    response = admin_client.get(reverse(PREVIEW), {"q": "Product B", "candidate": v2.pk})

    assert [p.sku for p in response.context["matches"]] == ["B"]
    assert f"?sku=B&amp;candidate={v2.pk}" in response.content.decode()


@pytest.mark.parametrize("is_logged_in", [False, True])
def test_non_staff_are_sent_to_the_admin_login(client, is_logged_in, catalogue):
    _, _, v2 = catalogue
    if is_logged_in:
        client.force_login(User.objects.create_user(username="shopper", password="x"))
    url = preview_url("A", v2)

    for response in (client.get(url), client.post(reverse(JUDGE), {})):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))
    assert Judgment.objects.count() == 0


def test_marking_a_pair_needs_the_csrf_token_and_stores_the_verdict(admin_user, catalogue):
    products, _, v2 = catalogue
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    page = client.get(preview_url("A", v2))
    form = {
        "source": products["A"].pk,
        "target": products["D"].pk,
        "verdict": "good",
        "next": preview_url("A", v2),
    }

    refused = client.post(reverse(JUDGE), form)
    marked = client.post(
        reverse(JUDGE), {**form, "csrfmiddlewaretoken": page.context["csrf_token"]}
    )
    remarked = client.post(
        reverse(JUDGE),
        {**form, "verdict": "bad", "csrfmiddlewaretoken": page.context["csrf_token"]},
    )

    assert refused.status_code == 403
    assert (marked.status_code, marked["Location"]) == (302, preview_url("A", v2))
    assert remarked.status_code == 302
    judgment = Judgment.objects.get()
    assert (judgment.source, judgment.target, judgment.verdict, judgment.category_path) == (
        products["A"],
        products["D"],
        "bad",
        MUGS,
    )
    assert judgment.user == admin_user
    after = client.get(preview_url("A", v2)).content.decode()
    assert after.count('<span class="verdict-bad">bad</span>') == 2  # D is in both lists


def test_a_foreign_next_url_is_not_followed(admin_client, catalogue):
    products, _, _ = catalogue
    form = {"source": products["A"].pk, "target": products["B"].pk, "verdict": "good"}

    response = admin_client.post(reverse(JUDGE), {**form, "next": "https://evil.example/"})

    assert response["Location"] == reverse(PREVIEW)
    assert Judgment.objects.get().verdict == "good"


def test_staff_without_the_judgment_permission_see_the_preview_but_cannot_judge(catalogue):
    products, _, v2 = catalogue
    user = User.objects.create_user(username="viewer", password="x", is_staff=True)
    client = Client()
    client.force_login(user)
    form = {"source": products["A"].pk, "target": products["B"].pk, "verdict": "good"}

    page = client.get(preview_url("A", v2))
    response = client.post(reverse(JUDGE), form, follow=True)

    assert page.status_code == 200 and 'name="verdict"' not in page.content.decode()
    assert ERROR_NO_PERMISSION in response.content.decode()
    assert Judgment.objects.count() == 0
    user.user_permissions.add(Permission.objects.get(codename="add_judgment"))
    client.post(reverse(JUDGE), form)
    assert Judgment.objects.get().verdict == "good"
