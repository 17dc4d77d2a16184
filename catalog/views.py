from django.conf import settings
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET
from django.views.static import serve

from similarity import selectors as similarity_selectors

from . import history, selectors

PRODUCTS_PER_PAGE = 24  # four rows of six on a desktop grid
MAX_QUERY_CHARS = 200
SIMILAR_ITEMS = 8  # one row on a desktop product page
HISTORY_ITEMS = 6


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
    viewed = history.recently_viewed_ids(request.session)
    show_history = page.number == 1 and not query and category is None
    return render(
        request,
        "catalog/product_list.html",
        {
            "page": page,
            "query": query,
            "current_category": category,
            "categories": selectors.category_list_with_counts(),
            **(_history_context(viewed, shown=viewed) if show_history else {}),
        },
    )


@require_GET
def product_detail(request, sku: str):
    product = selectors.product_get(sku=sku)
    if product is None:
        raise Http404("No such product")
    viewed = history.recently_viewed_ids(request.session, exclude=product.pk)
    history.record_view(request.session, product.pk)
    return render(
        request,
        "catalog/product_detail.html",
        {
            "product": product,
            "similar": similarity_selectors.similar_products(product=product, k=SIMILAR_ITEMS),
            **_history_context([product.pk, *viewed], shown=viewed),
        },
    )


def _history_context(profile_ids: list[int], *, shown: list[int]) -> dict:
    """Recently viewed products and recommendations from that history (most recent first)."""
    if not profile_ids:
        return {"recently_viewed": [], "recommended": []}
    by_id = selectors.products_by_ids(ids=shown[:HISTORY_ITEMS])
    return {
        "recently_viewed": [by_id[pid] for pid in shown[:HISTORY_ITEMS] if pid in by_id],
        "recommended": similarity_selectors.recommended_for_history(
            viewed_ids=profile_ids, k=HISTORY_ITEMS
        ),
    }


@require_GET
@cache_control(public=True, max_age=30 * 24 * 3600, immutable=True)
def product_image(request, path: str):
    """Serve a stored derivative. Names are content hashes, so browsers may cache forever."""
    return serve(request, path, document_root=settings.MEDIA_ROOT / "products")
