from django.conf import settings
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET
from django.views.static import serve

from experiments import selectors as experiment_selectors
from experiments import services as experiment_services
from experiments.models import Impression
from experiments.selectors import Assignment
from experiments.services import WidgetItems
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
    widgets = {}
    if viewed and page.number == 1 and not query and category is None:
        session_id, assignment = _assignment(request)
        widgets = experiment_services.impressions_log(
            session_id=session_id,
            assignment=assignment,
            source=None,
            widgets=_history_widgets(viewed, shown=viewed, version=assignment.active),
        )
    return render(
        request,
        "catalog/product_list.html",
        {
            "page": page,
            "query": query,
            "current_category": category,
            "categories": selectors.category_list_with_counts(),
            **widgets,
        },
    )


@require_GET
def product_detail(request, sku: str):
    product = selectors.product_get(sku=sku)
    if product is None:
        raise Http404("No such product")
    viewed = history.recently_viewed_ids(request.session, exclude=product.pk)
    history.record_view(request.session, product.pk)
    session_id, assignment = _assignment(request)
    # A running A/B test may serve this shopper's similar items from its candidate version.
    similar = similarity_selectors.similar_products(
        product=product, k=SIMILAR_ITEMS, version=assignment.version
    )
    widgets = experiment_services.impressions_log(
        session_id=session_id,
        assignment=assignment,
        source=product,
        widgets=[
            WidgetItems(Impression.Widget.SIMILAR, similar, assignment.version),
            *_history_widgets([product.pk, *viewed], shown=viewed, version=assignment.active),
        ],
    )
    return render(request, "catalog/product_detail.html", {"product": product, **widgets})


def _assignment(request) -> tuple[str, Assignment]:
    """The hashed session id (creating the session if needed) and its experiment arm."""
    session_id = experiment_services.session_hash(session=request.session)
    return session_id, experiment_selectors.assignment_for(session_id=session_id)


def _history_widgets(profile_ids: list[int], *, shown: list[int], version) -> list[WidgetItems]:
    """Recommendations from the history (served by the active `version`) and recently viewed."""
    by_id = selectors.products_by_ids(ids=shown[:HISTORY_ITEMS])
    return [
        WidgetItems(
            Impression.Widget.RECOMMENDED,
            similarity_selectors.recommended_for_history(
                viewed_ids=profile_ids, k=HISTORY_ITEMS, version=version
            ),
            version,
        ),
        WidgetItems(
            Impression.Widget.RECENTLY_VIEWED,
            [by_id[pid] for pid in shown[:HISTORY_ITEMS] if pid in by_id],
            None,  # the shopper's own history: no model chose it
        ),
    ]


@require_GET
@cache_control(public=True, max_age=30 * 24 * 3600, immutable=True)
def product_image(request, path: str):
    """Serve a stored derivative. Names are content hashes, so browsers may cache forever."""
    return serve(request, path, document_root=settings.MEDIA_ROOT / "products")
