"""Category reads: the tree as the storefront lists it, and one category by slug or path."""

from django.db.models import Count

from ..category_paths import CATEGORY_PATH_SEPARATOR
from ..models import Category, Product


def category_list_with_counts() -> list[Category]:
    """Categories whose subtree holds active products, by path, each with `product_count`: its
    subtree's, as the category's page lists them, so a parent whose products all sit in its
    children is listed and each count matches the page it links to."""
    direct = dict(
        Product.objects.filter(is_active=True, category__isnull=False)
        .values_list("category__path")
        .annotate(count=Count("pk"))
    )
    subtree: dict[str, int] = {}
    for path, count in direct.items():
        levels = path.split(CATEGORY_PATH_SEPARATOR)
        for depth in range(1, len(levels) + 1):
            ancestor = CATEGORY_PATH_SEPARATOR.join(levels[:depth])
            subtree[ancestor] = subtree.get(ancestor, 0) + count
    categories = list(Category.objects.filter(path__in=list(subtree)).order_by("path"))
    for category in categories:
        category.product_count = subtree[category.path]
    return categories


def category_get(*, slug: str | None = None, path: str | None = None) -> Category | None:
    """The category with this slug, or with this (normalised) path."""
    if path is not None:
        return Category.objects.filter(path=path).first()
    return Category.objects.filter(slug=slug).first()
