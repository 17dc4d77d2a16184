from django.conf import settings
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_http_methods
from django.views.static import serve

from catalog import selectors
from catalog.images import InvalidImage
from core import crawlers
from core.prefetch import refuses_prefetch
from core.session_turns import session_turns
from similarity import selectors as similarity_selectors
from similarity import vector_store
from similarity.selectors import SimilarQuery
from similarity.services.visual import VisualSearchUnavailable, image_query_vector

from . import history, shopper
from .forms import VisualSearchForm
from .home import home_widgets
from .widgets import product_widgets

PRODUCTS_PER_PAGE = 24  # four rows of six on a desktop grid
MAX_QUERY_CHARS = 200
VISUAL_RESULTS = 24
PREFETCH_REFUSED = "Pages are recorded when visited, not prefetched."
ERROR_NO_PHOTO = "Choose a photo to search with."
ERROR_NO_IMAGE_MODEL = "no image model is active"  # for staff, as the service's errors are


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
    if hits := similarity_selectors.search_products(query=query):
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
            {"product": product, "attributes": sorted(product.attributes.items()), **widgets},
        )


@require_GET
@cache_control(public=True, max_age=30 * 24 * 3600, immutable=True)
def product_image(request, path: str):
    """Serve a stored derivative. Names are content hashes, so browsers may cache forever."""
    return serve(request, path, document_root=settings.MEDIA_ROOT / "products")


@require_http_methods(["GET", "POST"])
@session_turns
def visual_search(request):
    asked = request.POST if request.method == "POST" else request.GET
    form = VisualSearchForm(
        request.POST or None, request.FILES or None, initial={"sku": asked.get("sku", "")}
    )
    context = {"form": form, "result": None, "error": "", "no_photo_of_source": False}
    source = selectors.product_get(sku=sku) if (sku := asked.get("sku")) else None
    posted = request.method == "POST" and form.is_valid()
    vector = None
    if posted and form.cleaned_data["photo"]:
        source = None  # a chosen photo is the question now, not the product's
        try:
            vector = image_query_vector(data=form.cleaned_data["photo"].read())
        except InvalidImage as exc:
            form.add_error("photo", str(exc))
        except VisualSearchUnavailable as exc:
            context["error"] = str(exc)
    elif source is not None and (posted or request.method == "GET"):
        if (version := similarity_selectors.serving_version()) is None:
            context["error"] = ERROR_NO_IMAGE_MODEL
        elif (vector := vector_store.product_vector(version=version, product_id=source.pk)) is None:
            context["no_photo_of_source"] = True
    elif posted:
        form.add_error("photo", ERROR_NO_PHOTO)
    if vector is not None:
        data = form.cleaned_data if posted else {}
        query = SimilarQuery(
            k=VISUAL_RESULTS,
            category=data.get("category") or "any",
            in_stock_only=bool(data.get("in_stock")),
            exclude_ids=(source.pk,) if source is not None else (),
        )
        context["result"] = similarity_selectors.similar_to_vector(vector=vector, query=query)
    return render(request, "storefront/visual_search.html", {**context, "source": source})
