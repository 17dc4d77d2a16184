"""Which active products a similar-items, search or recommendations answer may contain, and
which a merchandising rule matches."""

from collections.abc import Collection
from dataclasses import dataclass

from django.contrib.postgres.fields import ArrayField
from django.db import connection, models
from django.db.models import Func, Q, QuerySet

from ..models import Product


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
    uncategorised_only: bool = False  # "the same category" as a product that has none

    @property
    def is_narrowing(self) -> bool:
        """True when more than inactive or explicitly excluded products are filtered out."""
        return bool(
            self.category_paths
            or self.uncategorised_only
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
    if product_filter.uncategorised_only:
        products = products.filter(category__isnull=True)
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


def products_with_brand_or_tag(*, brand: str = "", tag: str = "") -> QuerySet[Product]:
    """Active products a boost or bury rule matches: this brand or this tag (case-insensitive)."""
    match = Q(pk__in=[])
    if brand:
        match |= Q(brand__iexact=brand)
    if tag:
        match |= Q(lower_tags__contains=[tag.lower()])
    products = Product.objects.annotate(lower_tags=LowerTags("tags"))
    return products.filter(match, is_active=True).order_by("sku")


class LowerTags(Func):
    # Tags keep the case they were imported with; the serving query compares them lower-cased.
    template = "ARRAY(SELECT lower(tag) FROM unnest(%(expressions)s) AS tag)"
    output_field = ArrayField(models.TextField())
