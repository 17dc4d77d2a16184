"""Products and categories for pages, cards and the API: the active catalogue as shoppers see it."""

from collections.abc import Sequence

from django.db import connection
from django.db.models import Case, Prefetch, Q, QuerySet, When, prefetch_related_objects

from .. import rows
from ..models import Category, Product, ProductImage
from ..skus import sku_forms, sku_normalised
from .filters import LowerTags
from .sku_lookups import product_sku_stored


def product_list(
    *, category: Category | None = None, query: str = "", first: Sequence[int] = ()
) -> QuerySet[Product]:
    """Active products, optionally within a category subtree and matching words of `query`;
    those in `first` (such as the product whose SKU is the query) lead, in that order, matching
    or not."""
    products = (
        Product.objects.filter(is_active=True)
        .select_related("category")
        .prefetch_related(_primary_image())
    )
    if category is not None:
        products = products.filter(
            Q(category=category) | Q(category__path__startswith=f"{category.path} > ")
        )
    words = query.split()[:10]
    if words:
        products = products.annotate(lower_tags=LowerTags("tags"))
    matching = Q()
    for word in words:
        matching &= (
            Q(title__icontains=word)
            | Q(brand__icontains=word)
            | Q(sku__iexact=word)
            | Q(sku__iexact=sku_normalised(word))  # how SKUs are stored now (catalog.skus)
            | Q(description__icontains=word)
            | Q(lower_tags__contains=[word.lower()])  # tags keep the case they came with
        )
    if words and first:
        matching |= Q(pk__in=first)
    in_order = [When(pk=pk, then=position) for position, pk in enumerate(first)]
    order = [Case(*in_order, default=len(first))] if first else []
    return products.filter(matching).order_by(*order, "title", "sku")


def product_get(*, sku: str, with_images: bool = True) -> Product | None:
    """An active product with its category and (unless not needed) its images in display order."""
    # Read on every uncached similar-items request: plain SQL, instances built by rows.py.
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {rows.columns(Product, 'product')}, {rows.columns(Category, 'category')} "
            "FROM catalog_product product "
            "LEFT JOIN catalog_category category ON category.id = product.category_id "
            "WHERE product.sku = ANY(%s) AND product.is_active "
            "ORDER BY product.sku <> %s LIMIT 1",  # the exact spelling first: see sku_forms
            [sku_forms(sku), sku],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    product = rows.instance(Product, row)
    joined = len(Product._meta.concrete_fields)
    product.category = None if row[joined] is None else rows.instance(Category, row, joined)
    if with_images:
        prefetch_related_objects(
            [product], Prefetch("images", queryset=ProductImage.objects.order_by("position"))
        )
    return product


def _primary_image() -> Prefetch:
    return Prefetch(
        "images", queryset=ProductImage.objects.filter(is_primary=True), to_attr="primary"
    )


def products_by_ids(*, ids: list[int], with_images: bool = True) -> dict[int, Product]:
    """Active products by id, with the primary image prefetched (for cards) unless not needed."""
    with connection.cursor() as cursor:  # the k results of every similar list: see rows.py
        cursor.execute(
            f"SELECT {rows.columns(Product, 'product')} FROM catalog_product product "
            "WHERE product.id = ANY(%s) AND product.is_active",
            [list(ids)],
        )
        products = [rows.instance(Product, row) for row in cursor.fetchall()]
    if with_images:
        primary_images_attach(products)
    return {product.pk: product for product in products}


def primary_images_attach(products: list[Product]) -> None:
    """Set `product.primary` (for cards: a list holding the primary image, or empty, as the
    prefetch of `product_list` leaves it) onto already loaded products. Plain SQL, as the
    products' own read: the ORM's prefetch compiled a query (and joined the products for the
    images' ordering) on every similar-items and recommendations request."""
    if not products:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {rows.columns(ProductImage, 'image')} "
            f"FROM {ProductImage._meta.db_table} image "
            "WHERE image.product_id = ANY(%s) AND image.is_primary",
            [[product.pk for product in products]],
        )
        images = [rows.instance(ProductImage, row) for row in cursor.fetchall()]
    by_product = {image.product_id: image for image in images}
    for product in products:
        image = by_product.get(product.pk)
        product.primary = [image] if image is not None else []


def products_ranked(*, ids: list[int], category: Category | None = None) -> QuerySet[Product]:
    """Active products with these ids, in the given order (e.g. search relevance)."""
    order = Case(*[When(pk=pk, then=position) for position, pk in enumerate(ids)])
    return product_list(category=category).filter(pk__in=ids).order_by(order)


def product_any(*, sku: str) -> Product | None:
    """A product by SKU whether active or not (API writes answer with what they stored)."""
    stored = product_sku_stored(sku=sku)
    if stored is None:
        return None
    return (
        Product.objects.filter(sku=stored)
        .select_related("category")
        .prefetch_related(Prefetch("images", queryset=ProductImage.objects.order_by("position")))
        .first()
    )
