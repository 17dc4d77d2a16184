"""The recommendation strips of product pages: which arm of a running A/B test serves them, the
history-based strips (recommended, recently viewed; the home page shows them too) and the
behaviour strips (bought together, also viewed). The home page's are storefront.home's."""

from collections.abc import Iterable

from django.utils import timezone

from behaviour import selectors as behaviour_selectors
from catalog import selectors as catalog_selectors
from catalog.models import Product
from core import crawlers
from experiments import selectors as experiment_selectors
from experiments import services as experiment_services
from experiments import sessions as experiment_sessions
from experiments.models import Experiment, Impression
from experiments.selectors import Assignment, Shopper
from experiments.services import WidgetItems
from similarity import selectors as similarity_selectors
from similarity.selectors import SimilarItem, SimilarQuery

from . import shopper

SIMILAR_ITEMS = 8  # one row on a desktop product page
HISTORY_ITEMS = 6
BEHAVIOUR_ITEMS = 6  # one row, like the history strips


def assignment_for_request(request) -> tuple[Shopper | None, Assignment]:
    """Whom the experiments know the shopper as (their visitor: a signed-in customer's own, so
    one arm on every device; creating the session if needed) and their arms. A crawler is no
    shopper: served as everyone, with no arm, nothing logged and no identity started."""
    if crawlers.is_crawler(request):
        return None, experiment_selectors.assignment_for(shopper_hash=None)
    # Before the id is read: an erasure from another tab from then on refuses the impressions.
    read_at = timezone.now()
    known = experiment_sessions.shopper_for(
        session=request.session, visitor_id=shopper.visitor_id(request), read_at=read_at
    )
    return known, experiment_selectors.assignment_for(shopper_hash=known.hash)


def product_widgets(request, *, product: Product, viewed: list[int]) -> dict:
    """A product page's strips, each item's impression logged (its click link needs the row)."""
    known, assignment = assignment_for_request(request)
    # A running A/B test may serve this shopper's similar items from its candidate version.
    similar = similarity_selectors.similar_products(
        product=product, k=SIMILAR_ITEMS, version=assignment.version
    )
    return experiment_services.impressions_log(
        shopper=known,
        assignment=assignment,
        source=product,
        widgets=[
            WidgetItems(Impression.Widget.SIMILAR, similar, assignment.version),
            *behaviour_widgets(product, assignment, on_the_page=similar),
            # A crawler (known None) has no history, and asking would start it a visitor.
            *(
                history_widgets(request, shown=viewed, assignment=assignment, product=product)
                if known is not None
                else []
            ),
        ],
    )


def history_widgets(
    request,
    *,
    shown: list[int],
    assignment: Assignment,
    product: Product | None = None,
    fill_not_in: Iterable[int] = (),
) -> list[WidgetItems]:
    """Recommended for you (the same selector as the API, over the shopper's events read now:
    the signed-in customer's or this session's; a running A/B test's candidate arm gets its
    variant) and recently viewed. Recommended for you leaves out the page's `product` and what
    recently viewed shows: repeats (bought products) would otherwise bring them back. Its fill
    (the items that are not the shopper's own) also leaves out `fill_not_in`, another strip's
    products on the page, and is filled on from further down instead."""
    recently_viewed = _recently_viewed(shown)
    exclude = [item.pk for item in recently_viewed] + ([product.pk] if product else [])
    elsewhere = set(fill_not_in)
    recommended = behaviour_selectors.recommended_for_visitor(
        visitor_id=shopper.visitor_id(request),
        query=SimilarQuery(k=HISTORY_ITEMS + len(elsewhere), exclude_ids=tuple(exclude)),
        **_recommended_variant(assignment.candidate_for(Impression.Widget.RECOMMENDED)),
    )
    items = [
        item
        for item in recommended.items
        if item.tier == behaviour_selectors.TIER_PERSONAL or item.product.pk not in elsewhere
    ][:HISTORY_ITEMS]
    return [
        # The image version serves the content signal.
        WidgetItems(Impression.Widget.RECOMMENDED, items, assignment.active),
        # The shopper's own history: no model chose it.
        WidgetItems(Impression.Widget.RECENTLY_VIEWED, recently_viewed, None),
    ]


def _recently_viewed(shown: list[int]) -> list[Product]:
    """The newest HISTORY_ITEMS still for sale: cut after the withdrawn ones are dropped, so
    they leave no gap in the row."""
    by_id = catalog_selectors.products_by_ids(ids=shown, with_images=False)
    products = [by_id[pid] for pid in shown if pid in by_id][:HISTORY_ITEMS]
    catalog_selectors.primary_images_attach(products)
    return products


def _recommended_variant(experiment: Experiment | None) -> dict:
    if experiment is None:
        return {}
    if experiment.variant == Experiment.Variant.SEQUENCE_VERSION:
        return {"sequence_version": experiment.sequence_candidate}
    return {"repeats": False}  # Variant.WITHOUT_REPEATS


def behaviour_widgets(
    product, assignment: Assignment, *, on_the_page: list[SimilarItem]
) -> list[WidgetItems]:
    """Frequently bought together and also viewed, from shoppers' events (no model version); a
    candidate arm of an A/B test on one of them sees the product's similar items instead: the
    ones after those the Similar strip on the page shows (`on_the_page`), which the candidate
    strip repeated, sharing its clicks with it, while only its own were counted."""
    shown = {item.product.pk for item in on_the_page}
    query = SimilarQuery(k=BEHAVIOUR_ITEMS)
    neighbours = behaviour_selectors.ContentNeighbours(product)  # one lookup for both strips
    widgets = []
    for widget, selector in (
        (Impression.Widget.BOUGHT_TOGETHER, behaviour_selectors.bought_together),
        (Impression.Widget.ALSO_VIEWED, behaviour_selectors.also_viewed),
    ):
        if assignment.candidate_for(widget) is not None:  # Variant.SIMILAR_ITEMS
            items = similarity_selectors.similar_products(
                product=product, k=len(shown) + BEHAVIOUR_ITEMS, version=assignment.active
            )
            items = [item for item in items if item.product.pk not in shown][:BEHAVIOUR_ITEMS]
            widgets.append(WidgetItems(widget, items, assignment.active))
        else:
            items = selector(product=product, query=query, neighbours=neighbours).items
            widgets.append(WidgetItems(widget, items, None))
    return widgets
