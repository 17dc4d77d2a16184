import numpy as np
import pytest

from catalog.models import Product
from similarity import vector_store
from similarity.selectors import similar_products
from tests.catalog.factories import shape_catalogue

from .vector_store.factories import store, unit, version

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue():
    """Squares (one group of 2 colours) and bars, with vectors where square-0 ~ square-1 ~ bar-0."""
    products = {p.sku: p for p in shape_catalogue(colours=2)[:4]}  # SQUARE-0-0/1, BAR-0-0/1
    v = version(2, status="active")
    store(v, list(products.values()), [unit(1, 0), unit(0.95, 0.05), unit(0.9, 0.1), unit(0, 1)])
    return products


def test_similar_products_exclude_the_variant_group_by_default(catalogue):
    items = similar_products(product=catalogue["SQUARE-0-0"], k=3)
    assert [item.product.sku for item in items] == ["BAR-0-0", "BAR-0-1"]
    cosine = float(unit(1, 0) @ unit(0.9, 0.1))
    assert items[0].image_similarity == pytest.approx((1 + cosine) / 2, abs=1e-5)
    breakdown = items[0].breakdown
    assert breakdown.scores["text"] is None  # no lexical index built in this test
    assert breakdown.fused == pytest.approx(sum(breakdown.contributions.values()))

    with_group = similar_products(product=catalogue["SQUARE-0-0"], k=3, exclude_variant_group=False)
    assert [item.product.sku for item in with_group] == ["SQUARE-0-1", "BAR-0-0", "BAR-0-1"]


def test_inactive_products_are_never_suggested(catalogue):
    Product.objects.filter(sku="BAR-0-0").update(is_active=False)
    assert [i.product.sku for i in similar_products(product=catalogue["SQUARE-0-0"])] == ["BAR-0-1"]


def test_product_page_shows_the_similar_strip(client, catalogue):
    html = client.get("/products/SQUARE-0-0/").content.decode()
    start, end = html.index('id="similar-items"'), html.find('id="recommended"')
    strip = html[start:end]  # the "Recommended for you" strip after it may show variants
    assert strip.index("bar 0") < strip.index("bar 1")
    assert "Looks alike · " in strip
    assert "square 1" not in strip


def test_without_an_active_version_the_page_says_so(client):
    shape_catalogue(colours=1)
    html = client.get("/products/SQUARE-0-0/").content.decode()
    assert "Similar items appear here once a similarity model is active." in html


def test_category_weights_override_the_global_ones(catalogue):
    from catalog.models import Category
    from similarity.models import FusionWeights
    from similarity.selectors import fusion_weights

    squares = Category.objects.get(path="Shapes > square")
    FusionWeights.objects.create(image=1, text=0, text_learned=0, attributes=0, price=0)
    FusionWeights.objects.create(
        category=squares.parent, image=0.1, text=0, text_learned=0, attributes=1, price=0
    )
    FusionWeights.objects.create(
        category=squares, image=0.2, text=0.3, text_learned=0, attributes=0, price=0
    )

    assert fusion_weights(category_path="Shapes > square").text == 0.3  # deepest row wins
    assert fusion_weights(category_path="Shapes > bar").attributes == 1  # parent's row
    assert fusion_weights(category_path="Other").image == 1  # the global row
    # Attributes-only weights for bars: BAR-0-1 shares category and group tags with BAR-0-0.
    FusionWeights.objects.filter(category=squares.parent).update(image=0, attributes=1)
    items = similar_products(product=catalogue["BAR-0-0"], k=2, exclude_variant_group=False)
    assert items[0].product.sku == "BAR-0-1"
    FusionWeights.objects.filter(category=squares.parent).update(image=1, attributes=0)
    items = similar_products(product=catalogue["BAR-0-0"], k=2, exclude_variant_group=False)
    assert items[0].product.sku == "SQUARE-0-1"  # nearest picture: unit(0.95, 0.05)


def test_a_product_whose_image_vectors_cancel_out_is_no_perfect_look_alike():
    source, near, cancelled = shape_catalogue(colours=1, images_per_product=2)[:3]
    v = version(2, status="active")
    images = [image for p in (source, near, cancelled) for image in p.images.order_by("position")]
    vectors = [unit(1, 0), unit(1, 0), unit(0.99, 0.1), unit(0.99, 0.1), unit(0, 1), unit(0, -1)]
    vector_store.image_embeddings_upsert(
        version=v,
        image_ids=[i.pk for i in images],
        shas=[i.sha256 for i in images],
        vectors=np.stack(vectors),
    )
    vector_store.product_embeddings_refresh(
        version=v, product_ids=[source.pk, near.pk, cancelled.pk]
    )
    vector_store.hnsw_index_build(version=v)

    items = similar_products(product=source, k=2)

    scores = {item.product.sku: item.breakdown.scores["image"] for item in items}
    assert scores[near.sku] == pytest.approx((1 + float(unit(0.99, 0.1)[0])) / 2, abs=1e-5)
    assert scores.get(cancelled.sku) is None  # a NaN cosine once read as 1.0 and ranked first


def test_a_category_fill_item_says_so_instead_of_looks_alike(client):
    """C has no image vector yet (imported after training): the newest product of the category
    fills the list, with no similarity behind it."""
    from tests.catalog.factories import add_product, image_bytes

    add_product("A", "Red mug", image=image_bytes((200, 0, 0)))
    add_product("B", "Blue mug", image=image_bytes((0, 0, 200)))
    add_product("C", "Green mug", image=image_bytes((0, 200, 0)))
    embedded = [Product.objects.get(sku="A"), Product.objects.get(sku="B")]
    store(version(2, status="active"), embedded, [unit(1, 0), unit(1, 0.1)])

    html = client.get("/products/A/").content.decode()
    card = html[html.index("Green mug") :]
    card = card[: card.index("</li>")]

    assert "More in this category" in card
    assert "% match" not in card and "Looks alike" not in card
