"""Catalogue reads for pages, the API and other apps (similarity reads products through here)."""

from django.db.models import Count, Prefetch, Q, QuerySet

from .models import Category, Product, ProductImage


def product_list(*, category: Category | None = None, query: str = "") -> QuerySet[Product]:
    """Active products, optionally within a category subtree and matching words of `query`."""
    products = (
        Product.objects.filter(is_active=True)
        .select_related("category")
        .prefetch_related(
            Prefetch(
                "images", queryset=ProductImage.objects.filter(is_primary=True), to_attr="primary"
            )
        )
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
            | Q(description__icontains=word)
            | Q(tags__contains=[word.lower()])
        )
    return products.order_by("title", "sku")


def product_get(*, sku: str) -> Product | None:
    """An active product with its category and images in display order."""
    return (
        Product.objects.filter(sku=sku, is_active=True)
        .select_related("category")
        .prefetch_related(Prefetch("images", queryset=ProductImage.objects.order_by("position")))
        .first()
    )


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
