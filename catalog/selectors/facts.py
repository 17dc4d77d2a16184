"""The words and attributes of products that similarity scores compare."""

from dataclasses import dataclass

from ..models import Product


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
