from django.conf import settings
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET
from django.views.static import serve

from catalog import selectors
from core import crawlers
from core.prefetch import refuses_prefetch
from core.session_turns import session_turns
from similarity import selectors as similarity_selectors

from . import history, shopper
from .attributes import attribute_rows
from .home import home_widgets
from .widgets import product_widgets

PRODUCTS_PER_PAGE = 24  # four rows of six on a desktop grid
MAX_QUERY_CHARS = 200
PREFETCH_REFUSED = "Pages are recorded when visited, not prefetched."


@require_GET
@session_turns  # experiments remember the shopper in the session
@refuses_prefetch(PREFETCH_REFUSED)  # its strips log impressions
def product_list(request):
    query = request.GET.get("q", "").strip()[:MAX_QUERY_CHARS]
    category = None
    if slug := request.GET.get("category"):
        category = selectors.category_get(slug=slug)
        if category is None:
            raise Http404("No such category")
    products = _listed(query=query, category=category)
    page = Paginator(products, PRODUCTS_PER_PAGE).get_page(request.GET.get("page"))
    viewed = history.recently_viewed_ids(request.session)
    widgets = {}
    if page.number == 1 and not query and category is None:
        widgets = home_widgets(request, viewed=viewed)
    return render(
        request,
        "storefront/product_list.html",
        {
            "page": page,
            "query": query,
            "current_category": category,
            "categories": selectors.category_list_with_counts(),
            **widgets,
        },
    )


def _listed(*, query: str, category):
    """The products of the list: the category's, or with a query, ranked search when it finds
    something and word matching otherwise (nothing indexed yet, or a query the index has no
    terms for: another script, a symbol). A product whose SKU is the query comes first either
    way: SKUs are not in the lexical index, and word matching would split one holding a space.
    """
    if not query:
        return selectors.product_list(category=category)
    # A search, by whatever way it finds products, leaves out what the shop blocked.
    blocked = similarity_selectors.shop_wide_blocked_ids()
    exact = [
        pk
        for pk in selectors.product_ids_with_sku(sku=query, category=category)
        if pk not in blocked
    ]
    path = category.path if category is not None else None
    if hits := similarity_selectors.search_products(query=query, category_path=path):
        ranked = dict.fromkeys([*exact, *(hit.product_id for hit in hits)])
        return selectors.products_ranked(ids=list(ranked), category=category)
    products = selectors.product_list(category=category, query=query, first=exact)
    return products.exclude(pk__in=blocked)


@require_GET
@session_turns  # the recently viewed list, the visitor id
@refuses_prefetch(PREFETCH_REFUSED)  # a view, impressions: only of a visit the shopper makes
def product_detail(request, sku: str):
    product = selectors.product_get(sku=sku)
    if product is None:
        raise Http404("No such product")
    viewed = history.recently_viewed_ids(request.session, exclude=product.pk)
    if not crawlers.is_crawler(request):  # no shopper: no history, and no session row per fetch
        history.record_view(request.session, product.pk)
    # One unit: a page that fails to render leaves no view event and no impressions of items
    # nobody saw. The price: inside a transaction, Recommended for you asks its signal reads
    # one after another (core.parallel_reads), since pool threads could not see the view.
    with transaction.atomic():
        shopper.view_record(request, product=product)  # before the strips: they read it
        widgets = product_widgets(request, product=product, viewed=viewed)
        return render(
            request,
            "storefront/product_detail.html",
            # Pairs, not the dict: an attribute named "items" would shadow its items() method.
            {"product": product, "attributes": attribute_rows(product.attributes), **widgets},
        )


@require_GET
@cache_control(public=True, max_age=30 * 24 * 3600, immutable=True)
def product_image(request, path: str):
    """Serve a stored derivative. Names are content hashes, so browsers may cache forever."""
    return serve(request, path, document_root=settings.MEDIA_ROOT / "products")
