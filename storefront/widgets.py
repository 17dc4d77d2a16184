"""The recommendation strips of shopper pages: which arm of a running A/B test serves them, and
the history-based strips (recommended, recently viewed)."""

from catalog import selectors as catalog_selectors
from experiments import selectors as experiment_selectors
from experiments import services as experiment_services
from experiments.models import Impression
from experiments.selectors import Assignment
from experiments.services import WidgetItems
from similarity import selectors as similarity_selectors

HISTORY_ITEMS = 6


def assignment_for_request(request) -> tuple[str, Assignment]:
    """The hashed session id (creating the session if needed) and its experiment arm."""
    session_id = experiment_services.session_hash(session=request.session)
    return session_id, experiment_selectors.assignment_for(session_id=session_id)


def history_widgets(profile_ids: list[int], *, shown: list[int], version) -> list[WidgetItems]:
    """Recommendations from the history (served by the active `version`) and recently viewed."""
    by_id = catalog_selectors.products_by_ids(ids=shown[:HISTORY_ITEMS])
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
