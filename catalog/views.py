from django.conf import settings
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET
from django.views.static import serve

from similarity import selectors as similarity_selectors

from . import selectors

PRODUCTS_PER_PAGE = 24  # four rows of six on a desktop grid
MAX_QUERY_CHARS = 200
SIMILAR_ITEMS = 8  # one row on a desktop product page


@require_GET
def product_list(request):
    query = request.GET.get("q", "").strip()[:MAX_QUERY_CHARS]
    category = None
    if slug := request.GET.get("category"):
        category = selectors.category_get(slug=slug)
        if category is None:
            raise Http404("No such category")
    products = selectors.product_list(category=category, query=query)
    if query and (hits := similarity_selectors.search_products(query=query)) is not None:
        products = selectors.products_ranked(
            ids=[hit.product_id for hit in hits], category=category
        )
    page = Paginator(products, PRODUCTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "catalog/product_list.html",
        {
            "page": page,
            "query": query,
            "current_category": category,
            "categories": selectors.category_list_with_counts(),
        },
    )


@require_GET
def product_detail(request, sku: str):
    product = selectors.product_get(sku=sku)
    if product is None:
        raise Http404("No such product")
    similar = similarity_selectors.similar_products(product=product, k=SIMILAR_ITEMS)
    return render(request, "catalog/product_detail.html", {"product": product, "similar": similar})


@require_GET
@cache_control(public=True, max_age=30 * 24 * 3600, immutable=True)
def product_image(request, path: str):
    """Serve a stored derivative. Names are content hashes, so browsers may cache forever."""
    return serve(request, path, document_root=settings.MEDIA_ROOT / "products")
