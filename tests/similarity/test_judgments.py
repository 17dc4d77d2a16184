"""The gold set: judgments stored once per pair, and precision@k of versions on them."""

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError
from django.urls import reverse

from catalog.models import Product
from similarity.admin_views.compare import NO_ACTIVE_SOURCES
from similarity.management.commands.evaluate import ERROR_NO_ACTIVE_SOURCES, ERROR_NO_JUDGMENTS
from similarity.models import Judgment
from similarity.selectors import SimilarQuery, similar_products_for
from similarity.selectors.judgments import gold_set_precision
from similarity.services import JudgmentError, judgment_record
from similarity.services.judgments import ERROR_SELF_PAIR
from tests.similarity import gold_fixtures
from tests.similarity.gold_fixtures import HATS, MUGS

pytestmark = pytest.mark.django_db

JUDGED = [
    ("A", "B", "good"),
    ("A", "C", "bad"),
    ("A", "D", "good"),
    ("A", "E", "bad"),
    ("F", "G", "bad"),
    ("F", "H", "good"),  # I is never judged
]


@pytest.fixture
def gold(admin_user):
    products, v1, v2 = gold_fixtures.build()
    for source, target, verdict in JUDGED:
        judgment_record(
            source=products[source], target=products[target], verdict=verdict, user=admin_user
        )
    return products, v1, v2


def test_a_pair_is_stored_once_and_a_new_mark_updates_it(gold, admin_user):
    products, _, _ = gold
    first = Judgment.objects.get(source=products["A"], target=products["C"])

    again = judgment_record(source=products["A"], target=products["C"], verdict="good", user=None)

    assert again.pk == first.pk
    assert Judgment.objects.filter(source=products["A"], target=products["C"]).count() == 1
    again.refresh_from_db()
    assert (again.verdict, again.user, again.category_path) == ("good", None, MUGS)
    assert again.updated_at > first.updated_at and again.created_at == first.created_at
    assert Judgment.objects.count() == len(JUDGED)


def test_the_database_refuses_a_second_row_for_a_pair(gold):
    products, _, _ = gold
    with pytest.raises(IntegrityError):
        Judgment.objects.create(source=products["A"], target=products["B"], verdict="bad")


def test_a_product_cannot_be_judged_against_itself(gold):
    products, _, _ = gold
    with pytest.raises(JudgmentError, match=ERROR_SELF_PAIR):
        judgment_record(source=products["A"], target=products["A"], verdict="good")


def test_the_category_is_the_one_the_source_had_when_judged(gold):
    products, v1, _ = gold
    source = products["A"]
    source.category = products["F"].category
    source.save(update_fields=["category"])

    report = gold_set_precision(version=v1, k=2)

    assert [s.category_path for s in report.categories] == [HATS, MUGS]
    assert Judgment.objects.get(source=source, target=products["B"]).category_path == MUGS


def test_the_two_versions_serve_the_designed_lists(gold):
    products, v1, v2 = gold

    def top(sku, version):
        query = SimilarQuery(k=2)
        result = similar_products_for(product=products[sku], query=query, version=version)
        return [item.product.sku for item in result.items]

    assert (top("A", v1), top("F", v1)) == (["B", "C"], ["G", "H"])
    assert (top("A", v2), top("F", v2)) == (["D", "B"], ["I", "G"])


def test_precision_at_k_on_judged_pairs_per_category_and_overall(gold):
    _, v1, v2 = gold

    first, second = gold_set_precision(version=v1, k=2), gold_set_precision(version=v2, k=2)

    # v1: A → [B good, C bad], F → [G bad, H good]: 1/2 in each category, 2/4 overall.
    assert [(s.category_path, s.sources, s.shown, s.judged, s.good) for s in first.categories] == [
        (HATS, 1, 2, 2, 1),
        (MUGS, 1, 2, 2, 1),
    ]
    assert [s.precision for s in first.categories] == [0.5, 0.5]
    assert (first.overall.judged, first.overall.good, first.overall.precision) == (4, 2, 0.5)
    # v2: A → [D good, B good]; F → [I unjudged, G bad]: I counts neither way.
    assert [(s.category_path, s.sources, s.shown, s.judged, s.good) for s in second.categories] == [
        (HATS, 1, 2, 1, 0),
        (MUGS, 1, 2, 2, 2),
    ]
    assert [s.precision for s in second.categories] == [0.0, 1.0]
    assert [s.coverage for s in second.categories] == [0.5, 1.0]
    assert (second.overall.judged, second.overall.good) == (3, 2)
    assert second.overall.precision == pytest.approx(2 / 3)


def test_evaluate_command_prints_the_gold_set_scores(gold, capsys):
    _, _, v2 = gold

    call_command("evaluate", "--model-version", str(v2.pk), "--gold-set", "--k", "2")

    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"v{v2.pk} on the gold set: precision@2 on judged pairs")
    assert [line.split() for line in lines[2:]] == [
        ["Fashion", ">", "Hats", "1", "1/2", "0.000"],
        ["Home", ">", "Mugs", "1", "2/2", "1.000"],
        ["all", "categories", "2", "3/4", "0.667"],
    ]


def test_evaluate_gold_set_fails_clearly_without_judgments():
    _, _, v2 = gold_fixtures.build()
    with pytest.raises(CommandError, match=ERROR_NO_JUDGMENTS):
        call_command("evaluate", "--model-version", str(v2.pk), "--gold-set")


def test_version_page_shows_the_gold_set_next_to_the_active_version(gold, admin_client):
    _, v1, v2 = gold

    url = reverse("admin:similarity_modelversion_change", args=[v2.pk])
    page = " ".join(admin_client.get(url).content.decode().split())

    # At k = 10 both lists hold all 8 other products, so every judged pair counts for both.
    assert f"<th>v{v2.pk} precision@10</th>" in page
    assert f"<th>v{v1.pk} (active) precision@10</th>" in page
    assert (
        "<tr><th>Home &gt; Mugs</th><td>1</td> <td>0.500</td><td>4 / 8</td> "
        "<td>0.500</td><td>4 / 8</td></tr>" in page
    )
    assert (
        "<tr><th>all categories</th><td>2</td> <td>0.500</td><td>6 / 16</td> "
        "<td>0.500</td><td>6 / 16</td></tr>" in page
    )


def test_judged_pairs_whose_sources_left_the_catalogue_are_not_called_none(gold, admin_client):
    """Every judged source taken off sale: the admin is not sent to judge again what is judged."""
    _, _, v2 = gold
    Product.objects.filter(sku__in=["A", "F"]).update(is_active=False)
    url = reverse("admin:similarity_modelversion_change", args=[v2.pk])

    page = admin_client.get(url).content.decode()
    with pytest.raises(CommandError) as refused:
        call_command("evaluate", "--model-version", str(v2.pk), "--gold-set")

    assert NO_ACTIVE_SOURCES.format(pairs=len(JUDGED)) in page
    assert str(refused.value) == ERROR_NO_ACTIVE_SOURCES.format(pairs=len(JUDGED))
