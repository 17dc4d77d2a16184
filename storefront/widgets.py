"""The recommendation strips of shopper pages: which arm of a running A/B test serves them, the
history-based strips (recommended, recently viewed) and the behaviour strips (bought together,
also viewed, trending)."""

from behaviour import selectors as behaviour_selectors
from catalog import selectors as catalog_selectors
from catalog.selectors import ProductFilter
from experiments import selectors as experiment_selectors
from experiments import sessions as experiment_sessions
from experiments.models import Experiment, Impression
from experiments.selectors import Assignment
from experiments.services import WidgetItems
from similarity import selectors as similarity_selectors
from similarity.selectors import SimilarQuery

from . import shopper

HISTORY_ITEMS = 6
BEHAVIOUR_ITEMS = 6  # one row, like the history strips


def assignment_for_request(request) -> tuple[str, Assignment]:
    """The hashed session id (creating the session if needed) and its experiment arm."""
    session_id = experiment_sessions.session_hash(session=request.session)
    return session_id, experiment_selectors.assignment_for(session_id=session_id)


def history_widgets(request, *, shown: list[int], assignment: Assignment) -> list[WidgetItems]:
    """Recommended for you (the same selector as the API, over the shopper's events read now:
    the signed-in customer's or this session's; a running A/B test's candidate arm gets its
    variant) and recently viewed."""
    by_id = catalog_selectors.products_by_ids(ids=shown[:HISTORY_ITEMS])
    recommended = behaviour_selectors.recommended_for_visitor(
        visitor_id=shopper.visitor_id(request),
        query=SimilarQuery(k=HISTORY_ITEMS),
        **_recommended_variant(assignment.candidate_for(Impression.Widget.RECOMMENDED)),
    )
    return [
        # The image version serves the content signal.
        WidgetItems(Impression.Widget.RECOMMENDED, recommended.items, assignment.active),
        WidgetItems(
            Impression.Widget.RECENTLY_VIEWED,
            [by_id[pid] for pid in shown[:HISTORY_ITEMS] if pid in by_id],
            None,  # the shopper's own history: no model chose it
        ),
    ]


def _recommended_variant(experiment: Experiment | None) -> dict:
    if experiment is None:
        return {}
    if experiment.variant == Experiment.Variant.SEQUENCE_VERSION:
        return {"sequence_version": experiment.sequence_candidate}
    return {"repeats": False}  # Variant.WITHOUT_REPEATS


def behaviour_widgets(product, assignment: Assignment) -> list[WidgetItems]:
    """Frequently bought together and also viewed, from shoppers' events (no model version); a
    candidate arm of an A/B test on one of them sees the product's similar items instead."""
    query = SimilarQuery(k=BEHAVIOUR_ITEMS)
    neighbours = behaviour_selectors.ContentNeighbours(product)  # one lookup for both strips
    widgets = []
    for widget, selector in (
        (Impression.Widget.BOUGHT_TOGETHER, behaviour_selectors.bought_together),
        (Impression.Widget.ALSO_VIEWED, behaviour_selectors.also_viewed),
    ):
        if assignment.candidate_for(widget) is not None:  # Variant.SIMILAR_ITEMS
            items = similarity_selectors.similar_products(
                product=product, k=BEHAVIOUR_ITEMS, version=assignment.active
            )
            widgets.append(WidgetItems(widget, items, assignment.active))
        else:
            items = selector(product=product, query=query, neighbours=neighbours).items
            widgets.append(WidgetItems(widget, items, None))
    return widgets


def trending_widget(assignment: Assignment) -> WidgetItems:
    """Trending; a candidate arm of an A/B test on it sees the newest products instead."""
    if assignment.candidate_for(Impression.Widget.TRENDING) is not None:  # Variant.NEWEST
        ids = catalog_selectors.products_newest(
            product_filter=ProductFilter(), limit=BEHAVIOUR_ITEMS
        )
        products = catalog_selectors.products_by_ids(ids=ids)
        return WidgetItems(
            Impression.Widget.TRENDING, [products[i] for i in ids if i in products], None
        )
    return WidgetItems(Impression.Widget.TRENDING, trending_items(), None)


def trending_items() -> list:
    """Trending's items (BehaviourItem): unlogged, the strip gives them plain product links."""
    return behaviour_selectors.trending(query=SimilarQuery(k=BEHAVIOUR_ITEMS)).items
