"""The recommendation strips of shopper pages: which arm of a running A/B test serves them, the
history-based strips (recommended, recently viewed) and the behaviour strips (bought together,
also viewed, trending)."""

from behaviour import selectors as behaviour_selectors
from catalog import selectors as catalog_selectors
from experiments import selectors as experiment_selectors
from experiments import services as experiment_services
from experiments.models import Impression
from experiments.selectors import Assignment
from experiments.services import WidgetItems
from similarity.selectors import SimilarQuery

from . import shopper

HISTORY_ITEMS = 6
BEHAVIOUR_ITEMS = 6  # one row, like the history strips


def assignment_for_request(request) -> tuple[str, Assignment]:
    """The hashed session id (creating the session if needed) and its experiment arm."""
    session_id = experiment_services.session_hash(session=request.session)
    return session_id, experiment_selectors.assignment_for(session_id=session_id)


def history_widgets(session, *, shown: list[int], version) -> list[WidgetItems]:
    """Recommended for you (the same selector as the API, over this session's visitor events,
    read now) and recently viewed. `version`: the image version serving the content signal."""
    by_id = catalog_selectors.products_by_ids(ids=shown[:HISTORY_ITEMS])
    recommended = behaviour_selectors.recommended_for_visitor(
        visitor_id=shopper.visitor_id(session), query=SimilarQuery(k=HISTORY_ITEMS)
    )
    return [
        WidgetItems(Impression.Widget.RECOMMENDED, recommended.items, version),
        WidgetItems(
            Impression.Widget.RECENTLY_VIEWED,
            [by_id[pid] for pid in shown[:HISTORY_ITEMS] if pid in by_id],
            None,  # the shopper's own history: no model chose it
        ),
    ]


def behaviour_widgets(product) -> list[WidgetItems]:
    """Frequently bought together and also viewed, from shoppers' events (no model version)."""
    query = SimilarQuery(k=BEHAVIOUR_ITEMS)
    return [
        WidgetItems(
            Impression.Widget.BOUGHT_TOGETHER,
            behaviour_selectors.bought_together(product=product, query=query).items,
            None,
        ),
        WidgetItems(
            Impression.Widget.ALSO_VIEWED,
            behaviour_selectors.also_viewed(product=product, query=query).items,
            None,
        ),
    ]


def trending_widget() -> WidgetItems:
    return WidgetItems(Impression.Widget.TRENDING, trending_items(), None)


def trending_items() -> list:
    """Trending's items (BehaviourItem): unlogged, the strip gives them plain product links."""
    return behaviour_selectors.trending(query=SimilarQuery(k=BEHAVIOUR_ITEMS)).items
