"""The home page's strips: trending (a running A/B test may show its candidate arm the newest
products instead) and, for a shopper with a history, the history strips."""

from behaviour import selectors as behaviour_selectors
from catalog import selectors as catalog_selectors
from catalog.models import Product
from core import crawlers
from experiments import selectors as experiment_selectors
from experiments import services as experiment_services
from experiments.models import Impression
from experiments.selectors import Assignment
from experiments.services import WidgetItems
from similarity.selectors import SimilarQuery

from .widgets import BEHAVIOUR_ITEMS, assignment_for_request, history_widgets


def home_widgets(request, *, viewed: list[int]) -> dict:
    """The home page's trending (and, for a shopper with a history, their strips) with logged
    impressions. A new visitor is given no session just for this page, unless a trending test
    runs: its arm must be drawn now, or they would see control trending first and perhaps the
    candidate on their next visit. A crawler never starts one (assignment_for_request)."""
    new_visitor = request.session.session_key is None
    if crawlers.is_crawler(request) or (
        new_visitor and Impression.Widget.TRENDING not in experiment_selectors.running_experiments()
    ):
        return {"trending": trending_items()}
    known, assignment = assignment_for_request(request)
    # A signed-in customer has a history beyond this session's views, on any device.
    has_history = viewed or request.user.is_authenticated
    trending = trending_widget(assignment)
    # Recommended for you's fill leaves out what Trending shows beside it (a customer with no
    # history yet saw the same products twice), but not while Trending is A/B tested: it would
    # then differ by Trending's arm, and the test would measure more than the strip it changes.
    tested = assignment.for_widget(Impression.Widget.TRENDING)[0] is not None
    on_the_page = [] if tested else [getattr(i, "product", i).pk for i in trending.items]
    history_strips = (
        history_widgets(request, shown=viewed, assignment=assignment, fill_not_in=on_the_page)
        if has_history
        else []
    )
    return experiment_services.impressions_log(
        shopper=known, assignment=assignment, source=None, widgets=[trending, *history_strips]
    )


def trending_widget(assignment: Assignment) -> WidgetItems:
    """Trending; a candidate arm of an A/B test on it sees the newest products instead."""
    if assignment.candidate_for(Impression.Widget.TRENDING) is not None:  # Variant.NEWEST
        return WidgetItems(Impression.Widget.TRENDING, _newest_items(), None)
    return WidgetItems(Impression.Widget.TRENDING, trending_items(), None)


def _newest_items() -> list[Product]:
    """The newest products within what trending (the control arm) allows: the stock setting
    and the shop-wide blocks, so the arms differ only in how they choose."""
    _, product_filter = behaviour_selectors.shop_wide_filter(SimilarQuery(k=BEHAVIOUR_ITEMS))
    ids = catalog_selectors.products_newest(product_filter=product_filter, limit=BEHAVIOUR_ITEMS)
    products = catalog_selectors.products_by_ids(ids=ids)
    return [products[i] for i in ids if i in products]


def trending_items() -> list:
    """Trending's items (BehaviourItem): unlogged, the strip gives them plain product links."""
    return behaviour_selectors.trending(query=SimilarQuery(k=BEHAVIOUR_ITEMS)).items
