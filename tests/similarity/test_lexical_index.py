"""The lexical index in PostgreSQL: tuned weights stored and shown, incremental refresh after
imports, the IDF drift rule, /match with whichever fields the caller sent, the command."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from catalog.models import Product
from similarity.models import LexicalIndex, ProductText
from similarity.selectors import search_products
from similarity.services import lexical as lexical_service
from similarity.services.lexical import lexical_index_rebuild, product_texts_refresh
from tests.catalog.factories import product

pytestmark = pytest.mark.django_db

HEADPHONES = [
    ("S4", "Sony WH-1000XM4 Wireless Headphones", "Sony", "Noise cancelling, 30 hours, black"),
    ("S3", "Sony WH-1000XM3 Wireless Headphones", "Sony", ""),
    ("B7", "Bose QuietComfort 45 Headphones", "Bose", "Quiet comfort for long flights"),
    ("M1", "Striped ceramic mug", "Hearth", ""),
    ("K2", "Electric kettle 1.7 l", "Hearth", "Boils water fast"),
]


@pytest.fixture
def catalogue():
    for sku, title, brand, description in HEADPHONES:
        product(sku=sku, title=title, brand=brand, description=description)
    return lexical_index_rebuild()


def stored() -> dict[str, tuple[str, str]]:
    """sku -> (text sha, vector text) of every stored lexical vector."""
    rows = ProductText.objects.values_list("product__sku", "text_sha256", "vector")
    return {sku: (sha, str(vector)) for sku, sha, vector in rows}


def test_a_small_catalogue_is_indexed_with_the_documented_default_weights(catalogue):
    assert catalogue.is_current and catalogue.documents == 5
    assert catalogue.tuning["method"] == "default"
    assert catalogue.config["fields"] == {
        "title": 1.0,
        "brand": 0.5,
        "model": 0.6,
        "category": 0.3,
        "description": 0.3,
    }
    assert ProductText.objects.filter(lexical_index=catalogue).count() == 5


def test_refresh_re_vectorises_only_the_products_that_changed(catalogue):
    before = stored()
    Product.objects.filter(sku="B7").update(title="Bose QuietComfort Ultra Headphones")
    Product.objects.filter(sku="M1").update(is_active=False)

    changed = product_texts_refresh(product_ids=list(Product.objects.values_list("pk", flat=True)))

    after = stored()
    assert changed == 2  # B7 re-vectorised, M1 dropped; the other three untouched
    assert set(after) == {"S4", "S3", "B7", "K2"}
    assert {sku for sku in after if after[sku] != before[sku]} == {"B7"}
    assert LexicalIndex.objects.get(pk=catalogue.pk).changed_products == 2


def test_a_product_deleted_while_a_refresh_runs_fails_no_other_products_refresh(
    catalogue, monkeypatch
):
    """Deleted after the refresh read the products, before their rows are written: the foreign
    key failed the whole refresh (an import's later products were left unsearchable by words)."""
    before = stored()
    Product.objects.filter(sku__in=["B7", "K2"]).update(title="Bose QuietComfort Ultra")
    ids = list(Product.objects.values_list("pk", flat=True))
    text_vectors_refresh = lexical_service.product_text_vectors_refresh

    def deleted_meanwhile(**kwargs):
        Product.objects.filter(sku="K2").delete()
        return text_vectors_refresh(**kwargs)

    monkeypatch.setattr(lexical_service, "product_text_vectors_refresh", deleted_meanwhile)

    product_texts_refresh(product_ids=ids)

    after = stored()
    assert set(after) == {"S4", "S3", "B7", "M1"}
    assert after["B7"] != before["B7"]  # re-vectorised as if nothing had happened beside it


def test_refresh_with_nothing_changed_writes_nothing(catalogue):
    before = stored()

    assert (
        product_texts_refresh(product_ids=list(Product.objects.values_list("pk", flat=True))) == 0
    )

    assert stored() == before
    assert LexicalIndex.objects.get(pk=catalogue.pk).changed_products == 0


def test_a_product_retitled_without_indexable_terms_loses_its_vector_once(catalogue):
    mug = product(sku="MUG", title="Red ceramic mug")  # no brand, category or description
    assert product_texts_refresh(product_ids=[mug.pk]) == 1
    Product.objects.filter(pk=mug.pk).update(title="★ ☕ ★")

    assert product_texts_refresh(product_ids=[mug.pk]) == 1
    # Kept, its old vector would match searches and similar lists on words it no longer has.
    assert "MUG" not in stored()
    assert product_texts_refresh(product_ids=[mug.pk]) == 0  # nothing new: no drift counted
    assert LexicalIndex.objects.get(pk=catalogue.pk).changed_products == 2


def test_an_edit_past_the_indexed_opening_of_a_description_is_no_change(catalogue):
    opening = "Stoneware mug with a glazed finish. " * 20  # past the 600 characters indexed
    Product.objects.filter(sku="M1").update(description=opening + "Ships in 2 days.")
    ids = list(Product.objects.filter(sku="M1").values_list("pk", flat=True))
    assert product_texts_refresh(product_ids=ids) == 1
    before = stored()

    Product.objects.filter(sku="M1").update(description=opening + "Ships in 5 days.")

    assert product_texts_refresh(product_ids=ids) == 0
    assert stored() == before


def test_the_idf_is_refitted_once_a_fifth_of_the_catalogue_changed(catalogue, monkeypatch):
    sent = []
    monkeypatch.setattr(lexical_service, "enqueue_on_commit", lambda name, *a: sent.append(name))
    ids = dict(Product.objects.values_list("sku", "pk"))

    Product.objects.filter(sku="K2").update(title="Glass electric kettle")
    product_texts_refresh(product_ids=[ids["K2"]])  # 1 of 5 products: 20 %, the threshold

    assert sent == ["similarity.tasks.lexical_index_rebuild_task"]


def test_a_change_below_the_drift_share_keeps_the_idf(catalogue, monkeypatch):
    sent = []
    monkeypatch.setattr(lexical_service, "enqueue_on_commit", lambda name, *a: sent.append(name))
    LexicalIndex.objects.filter(pk=catalogue.pk).update(documents=100)  # as if 100 products
    Product.objects.filter(sku="K2").update(title="Glass electric kettle")

    product_texts_refresh(product_ids=list(Product.objects.values_list("pk", flat=True)))

    assert sent == []


@pytest.mark.parametrize(
    "fields",
    [
        {"title": "Sony WH-1000XM4 headphones"},
        {"title": "WH-1000XM4 headphones", "brand": "Sony"},
        {"title": "headphones", "model_number": "WH1000XM4"},
        {"title": "Sony headphones", "description": "Noise cancelling, 30 hours"},
    ],
)
def test_match_weighs_only_the_fields_the_caller_sent(partner_client, catalogue, fields):
    body = partner_client.post(
        "/api/v1/match/", {**fields, "k": 2}, content_type="application/json"
    )

    assert [result["sku"] for result in body.json()["results"]] == ["S4", "S3"]


def test_a_product_without_a_description_scores_as_one_with_it_for_a_title_query():
    # Under plain cosine the product without a description would have its title fill its whole
    # norm and outscore its twin; the absent field's own bucket keeps the norms equal.
    product(sku="WITH", title="Acme Toaster T200", description="Two slots, defrost setting")
    product(sku="WITHOUT", title="Acme Toaster T200")
    lexical_index_rebuild()

    hits = search_products(query="", limit=2, fields={"title": "Acme Toaster T200"})

    assert len(hits) == 2
    assert hits[0].lexical == pytest.approx(hits[1].lexical, abs=1e-6)


def test_the_admin_shows_the_weights_and_how_they_were_chosen(admin_client, catalogue):
    listing = admin_client.get(reverse("admin:similarity_lexicalindex_changelist"))
    page = admin_client.get(reverse("admin:similarity_lexicalindex_change", args=[catalogue.pk]))

    assert "title 1, brand 0.5, model 0.6, category 0.3, description 0.3" in listing.text
    assert "5 products: fewer than 200, the default weights apply" in page.text
    assert "0 (0%; refit at 20%)" in page.text


def test_the_admin_cannot_delete_an_index(admin_client, catalogue):
    """Rebuilds replace indexes; deleted here, the serving one would take every product's text
    vector with it and leave its HNSW index in PostgreSQL."""
    url = reverse("admin:similarity_lexicalindex_delete", args=[catalogue.pk])

    page = admin_client.get(url)
    posted = admin_client.post(url, {"post": "yes"})
    admin_client.post(  # no such action is offered any more
        reverse("admin:similarity_lexicalindex_changelist"),
        {"action": "delete_selected", "_selected_action": [catalogue.pk], "post": "yes"},
    )

    assert (page.status_code, posted.status_code) == (403, 403)
    assert LexicalIndex.objects.filter(pk=catalogue.pk, is_current=True).exists()
    assert ProductText.objects.count() == len(HEADPHONES)


def test_reindex_text_command_rebuilds_and_reports_the_weights(catalogue):
    out = StringIO()

    call_command("reindex_text", "--tune", stdout=out)

    index = LexicalIndex.objects.get(is_current=True)
    assert index.pk != catalogue.pk
    assert out.getvalue().splitlines() == [
        f"Lexical index #{index.pk}: 5 products.",
        "Field weights: title 1, brand 0.5, model 0.6, category 0.3, description 0.3",
        "Weights: 5 products: fewer than 200, the default weights apply.",
    ]


def test_a_product_record_splits_codes_from_other_attributes():
    from catalog.selectors import ProductFacts
    from similarity.services.lexical_records import product_record

    facts = ProductFacts(
        1,
        "Sony WH-1000XM4",
        "Sony",
        "Audio > Headphones",
        ["wireless"],
        {"MPN": "WH1000XM4/B", "colour": "black"},
        "Noise cancelling",
        349.0,
        "",
    )

    assert product_record(facts) == {
        "title": "Sony WH-1000XM4",
        "brand": "Sony",
        "model": "WH1000XM4/B",
        "category": "Audio Headphones wireless black",
        "description": "Noise cancelling",
    }


def test_null_boolean_and_list_attributes_are_indexed_as_plain_words():
    """JSON null was indexed as the word "None": every such product matched "none"."""
    from catalog.selectors import ProductFacts
    from similarity.services.lexical_records import product_record

    attributes = {"mpn": None, "colour": None, "dishwasher_safe": True, "sizes": ["S", "M"]}
    facts = ProductFacts(1, "Mug", "", "", [], attributes, "", 9.0, "")

    record = product_record(facts)

    assert (record["model"], record["category"]) == ("", "yes S M")


def test_a_null_attribute_value_is_not_found_by_the_word_none():
    product(sku="A", title="Ceramic mug", attributes={"colour": None})
    product(sku="B", title="Wool scarf", attributes={"size": None})
    product(sku="C", title="Desk lamp")
    lexical_index_rebuild()

    assert search_products(query="none") == []


def test_an_index_built_before_field_weights_is_rebuilt_on_the_next_refresh():
    old = LexicalIndex.objects.create(
        documents=1, idf={"documents": 1, "frequencies": {"5": 1}}, is_current=True
    )
    kettle = product(sku="K2", title="Electric kettle")

    product_texts_refresh(product_ids=[kettle.pk])

    current = LexicalIndex.objects.get(is_current=True)
    assert current.pk != old.pk and not LexicalIndex.objects.filter(pk=old.pk).exists()
    assert current.config["fields"]["title"] == 1.0
    assert ProductText.objects.filter(lexical_index=current).count() == 1
