"""Catalogue reads for pages, the API and other apps (similarity reads products through here)."""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from django.contrib.postgres.fields import ArrayField
from django.core.files.storage import default_storage
from django.db import connection, models
from django.db.models import (
    Case,
    Count,
    Func,
    Prefetch,
    Q,
    QuerySet,
    When,
    prefetch_related_objects,
)

from core.jobs import rows_live_state

from . import rows
from .models import Category, DeletedProduct, ImportJob, Product, ProductImage
from .ranking_facts import RankingFacts as RankingFacts  # re-exported: similarity ranks with it
from .skus import sku_forms, sku_normalised


def product_list(*, category: Category | None = None, query: str = "") -> QuerySet[Product]:
    """Active products, optionally within a category subtree and matching words of `query`."""
    products = (
        Product.objects.filter(is_active=True)
        .select_related("category")
        .prefetch_related(_primary_image())
    )
    if category is not None:
        products = products.filter(
            Q(category=category) | Q(category__path__startswith=f"{category.path} > ")
        )
    for word in query.split()[:10]:
        products = products.filter(
            Q(title__icontains=word)
            | Q(brand__icontains=word)
            | Q(sku__iexact=word)
            | Q(sku__iexact=sku_normalised(word))  # how SKUs are stored now (catalog.skus)
            | Q(description__icontains=word)
            | Q(tags__contains=[word.lower()])
        )
    return products.order_by("title", "sku")


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


def category_list_with_counts() -> QuerySet[Category]:
    """Categories that hold active products, with `product_count` (direct products only)."""
    return (
        Category.objects.annotate(
            product_count=Count("products", filter=Q(products__is_active=True))
        )
        .filter(product_count__gt=0)
        .order_by("path")
    )


def category_get(*, slug: str) -> Category | None:
    return Category.objects.filter(slug=slug).first()


@dataclass(frozen=True)
class ImageRecord:
    """What the similarity app needs of one product image (no model instances cross apps)."""

    image_id: int
    product_id: int
    file_name: str
    sha256: str
    group_id: str
    category_path: str


def image_records(*, after_id: int = 0, product_ids: list[int] | None = None) -> list[ImageRecord]:
    """Images of active products in id order (the order bulk embedding resumes in)."""
    images = ProductImage.objects.filter(product__is_active=True, pk__gt=after_id)
    if product_ids is not None:
        images = images.filter(product_id__in=product_ids)
    rows = images.order_by("pk").values_list(
        "pk", "product_id", "file", "sha256", "product__group_id", "product__category__path"
    )
    return [
        ImageRecord(pk, product, name, sha, group or "", path or "")
        for pk, product, name, sha, group, path in rows
    ]


def image_read(*, file_name: str) -> bytes:
    """The stored derivative's bytes (through the storage backend, wherever it lives)."""
    with default_storage.open(file_name, "rb") as handle:
        return handle.read()


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


@dataclass(frozen=True)
class ProductFacts:
    """The words and attributes of a product that similarity scores compare."""

    product_id: int
    title: str
    brand: str
    category_path: str
    tags: list[str]
    attributes: dict
    description: str
    price: float
    group_id: str


FACT_FIELDS = (
    "pk",
    "title",
    "brand",
    "category__path",
    "tags",
    "attributes",
    "description",
    "price",
    "group_id",
)


def product_facts_of(product: Product) -> ProductFacts:
    """The facts of a product already loaded (its category too): no query."""
    return ProductFacts(
        product.pk,
        product.title,
        product.brand or "",
        product.category.path if product.category_id else "",
        product.tags or [],
        product.attributes or {},
        product.description or "",
        float(product.price),
        product.group_id or "",
    )


def product_facts(*, product_ids: list[int] | None = None) -> list[ProductFacts]:
    """Facts of active products (all, or these), in id order."""
    products = Product.objects.filter(is_active=True)
    if product_ids is not None:
        products = products.filter(pk__in=product_ids)
    rows = products.order_by("pk").values_list(*FACT_FIELDS)
    return [
        ProductFacts(
            pk,
            title,
            brand or "",
            path or "",
            tags or [],
            attributes or {},
            description or "",
            float(price),
            group or "",
        )
        for pk, title, brand, path, tags, attributes, description, price, group in rows
    ]


def products_ranked(*, ids: list[int], category: Category | None = None) -> QuerySet[Product]:
    """Active products with these ids, in the given order (e.g. search relevance)."""
    order = Case(*[When(pk=pk, then=position) for position, pk in enumerate(ids)])
    return product_list(category=category).filter(pk__in=ids).order_by(order)


@dataclass(frozen=True)
class ProductFilter:
    """Which active products a similar-items or search answer may contain."""

    category_paths: tuple[str, ...] = ()  # each includes its subtree; empty: any category
    brands: tuple[str, ...] = ()  # case-insensitive; empty: any brand
    price_min: float | None = None
    price_max: float | None = None
    in_stock_only: bool = False
    exclude_ids: tuple[int, ...] = ()
    exclude_group_id: str = ""  # leave out this variant group (the source's other colours)

    @property
    def is_narrowing(self) -> bool:
        """True when more than inactive or explicitly excluded products are filtered out."""
        return bool(
            self.category_paths
            or self.brands
            or self.in_stock_only
            or self.price_min is not None
            or self.price_max is not None
        )


def products_matching(*, product_filter: ProductFilter) -> QuerySet[Product]:
    products = Product.objects.filter(is_active=True).exclude(pk__in=product_filter.exclude_ids)
    if product_filter.exclude_group_id:
        products = products.exclude(group_id=product_filter.exclude_group_id)
    if product_filter.category_paths:
        in_categories = Q()
        for path in product_filter.category_paths:
            in_categories |= Q(category__path=path) | Q(category__path__startswith=f"{path} > ")
        products = products.filter(in_categories)
    if product_filter.brands:
        # iexact is UPPER(brand) = UPPER(%s): the catalog_product_brand_upper index answers it.
        same_brand = Q()
        for brand in product_filter.brands:
            same_brand |= Q(brand__iexact=brand)
        products = products.filter(same_brand)
    if product_filter.price_min is not None:
        products = products.filter(price__gte=product_filter.price_min)
    if product_filter.price_max is not None:
        products = products.filter(price__lte=product_filter.price_max)
    if product_filter.in_stock_only:
        products = products.filter(in_stock=True)
    return products


def matching_ids_sql(*, product_filter: ProductFilter) -> tuple[str, tuple]:
    """`products_matching` as SQL selecting the ids alone, unordered (the model's ordering
    would sort it for nothing), with its parameters: for statements that apply the filter to
    a few candidate ids inside their own SQL."""
    matching = products_matching(product_filter=product_filter).order_by().values_list("pk")
    return matching.query.sql_with_params()


def product_ids_allowed(*, ids: Collection[int], product_filter: ProductFilter) -> set[int]:
    """Which of `ids` name products `product_filter` allows. The filter is compiled without
    the ids, which go as one array parameter and are looked up by primary key: an IN list of
    a few hundred candidate ids compiled by the ORM (and sorted by the model's ordering) cost
    about twice as much per recommendation."""
    if not ids:
        return set()
    allowed_sql, params = matching_ids_sql(product_filter=product_filter)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT allowed.id FROM ({allowed_sql}) AS allowed(id) WHERE allowed.id = ANY(%s)",
            [*params, list(ids)],
        )
        return {row[0] for row in cursor.fetchall()}


def products_newest(*, product_filter: ProductFilter, limit: int) -> list[int]:
    """Ids of the newest matching products (the last fallback tier of similar items)."""
    return list(
        products_matching(product_filter=product_filter)
        .order_by("-created_at", "-pk")
        .values_list("pk", flat=True)[:limit]
    )


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


def product_sku_stored(*, sku: str) -> str | None:
    """The SKU as stored of the product `sku` names (active or not), or None: the exact
    spelling, else its NFC form (see sku_forms)."""
    forms = sku_forms(sku)
    stored = set(Product.objects.filter(sku__in=forms).values_list("sku", flat=True))
    return next((form for form in forms if form in stored), None)


def product_ids_for_skus(*, skus: list[str]) -> list[int]:
    return list(set(product_ids_by_sku(skus=skus).values()))


def product_ids_by_sku(*, skus: list[str]) -> dict[str, int]:
    """SKU as given → id of the products that exist (active or not); unknown SKUs are left out.
    Each SKU matches its exact spelling, else its NFC form (see sku_forms)."""
    forms = {sku: sku_forms(sku) for sku in skus}
    wanted = {form for spellings in forms.values() for form in spellings}
    found = dict(Product.objects.filter(sku__in=wanted).values_list("sku", "pk"))
    ids = {}
    for sku, spellings in forms.items():
        matches = [found[form] for form in spellings if form in found]
        if matches:
            ids[sku] = matches[0]
    return ids


def product_skus(*, ids: list[int]) -> list[str]:
    return list(Product.objects.filter(pk__in=ids).values_list("sku", flat=True))


def product_skus_by_id(*, ids: Collection[int]) -> dict[int, str]:
    """Id → SKU of these products, those deleted since included (the SKU they had)."""
    wanted = set(ids)
    skus = dict(
        DeletedProduct.objects.filter(product_id__in=wanted).values_list("product_id", "sku")
    )
    skus.update(Product.objects.filter(pk__in=wanted).values_list("pk", "sku"))
    return skus


def products_with_brand_or_tag(*, brand: str = "", tag: str = "") -> QuerySet[Product]:
    """Active products a boost or bury rule matches: this brand or this tag (case-insensitive)."""
    match = Q(pk__in=[])
    if brand:
        match |= Q(brand__iexact=brand)
    if tag:
        match |= Q(lower_tags__contains=[tag.lower()])
    products = Product.objects.annotate(lower_tags=_LowerTags("tags"))
    return products.filter(match, is_active=True).order_by("sku")


class _LowerTags(Func):
    # Tags keep the case they were imported with; the serving query compares them lower-cased.
    template = "ARRAY(SELECT lower(tag) FROM unnest(%(expressions)s) AS tag)"
    output_field = ArrayField(models.TextField())


IMPORT_COUNTS = (
    "created_count",
    "updated_count",
    "unchanged_count",
    "failed_count",
    "images_added",
    "images_rejected",
)


def import_job_progress(*, job: ImportJob, now: datetime | None = None) -> dict:
    """The import's state and counts, as the admin's progress endpoint returns them."""
    return rows_live_state(job, counts=IMPORT_COUNTS, now=now)
