"""The reasons a personal recommendation gives name what the shopper really did, and the history
product that counted most."""

import pytest

from behaviour.selectors.recommendations import recommended_for_visitor
from behaviour.selectors.recommendations.signals import Signal
from behaviour.selectors.recommendations.why import WHY_IN_BASKET
from behaviour.services.ingest import events_record
from behaviour.visitors import visitor_hash
from similarity.selectors import SimilarQuery
from tests.behaviour.factories import bought_together, event
from tests.catalog.factories import product


def test_because_names_the_largest_single_contribution_not_the_running_total():
    signal = Signal()
    for value, source in ((0.10, 1), (0.20, 2), (0.25, 3), (0.05, 4)):
        signal.add(99, value, source=source)
    assert signal.because[99] == 3
    assert signal.scores[99] == pytest.approx(0.60)


@pytest.mark.django_db
def test_a_partner_of_three_viewed_products_is_explained_by_the_most_telling():
    for sku in ("A", "B", "C", "X"):
        product(sku=sku, title=f"Title {sku}")
    # Viewed A, then B, then C: the newest (C) weighs most; X is each one's equal partner.
    events_record(
        items=[
            event("A", "v", days_ago=3),
            event("B", "v", days_ago=2),
            event("C", "v", days_ago=1),
        ]
    )
    for source in ("A", "B", "C"):
        bought_together(source, "X")

    item = recommended_for_visitor(visitor_id="v", query=SimilarQuery(k=1)).items[0]

    assert item.product.sku == "X"
    assert item.evidence["because"]["cooccurrence"] == "C"
    assert item.why == "Because you viewed Title C"


@pytest.mark.django_db
def test_a_product_only_put_in_the_basket_is_not_said_to_be_bought(settings):
    settings.PRODSIM_RECOMMEND_REPEATS = True
    product(sku="LAMP", title="Garden lamp"), product(sku="OTHER", title="Other")
    events_record(items=[event("LAMP", "shopper", "add_to_cart")])

    result = recommended_for_visitor(visitor_id="shopper", query=SimilarQuery(k=2))

    lamp = next(item for item in result.items if item.product.sku == "LAMP")
    assert lamp.why == WHY_IN_BASKET


@pytest.mark.django_db
def test_a_content_neighbour_is_explained_by_the_viewed_product_it_is_nearest_to():
    import numpy as np

    from behaviour.selectors.recommendations import visitor_history
    from behaviour.selectors.recommendations.content import content_signal
    from catalog.selectors import ProductFilter
    from similarity.models import ModelVersion
    from tests.similarity.factories import vector_catalogue

    products, vectors = vector_catalogue(count=40)
    viewed = [0, 1, 2, 3]  # the newest (P003) weighs most
    events_record(
        items=[event(f"P{i:03}", "v", days_ago=10 - i) for i in viewed],
    )
    history = visitor_history(visitor=visitor_hash("v"))

    signal = content_signal(
        history, version=ModelVersion.objects.get(), product_filter=ProductFilter(), n=20
    )

    ids = [p.pk for p in products]
    nearest = {ids[c]: ids[viewed[int(np.argmax(vectors[viewed] @ vectors[c]))]] for c in range(40)}
    assert signal.because and all(
        source == nearest[candidate] for candidate, source in signal.because.items()
    )
    assert len(set(signal.because.values())) > 1  # not one reason for every item


@pytest.mark.django_db
def test_the_content_signal_scores_the_cosine_as_the_hybrids_tuning_does():
    # Tuned weights are chosen on max(cosine, 0) (ml.sequence.signals): served on another scale,
    # such as (1 + cosine) / 2, the content weight would count weak matches half as strong.

    from behaviour.selectors.recommendations import visitor_history
    from behaviour.selectors.recommendations.content import content_signal
    from catalog.selectors import ProductFilter
    from similarity.models import ModelVersion
    from tests.similarity.factories import vector_catalogue

    products, vectors = vector_catalogue(count=40)
    events_record(items=[event("P000", "v")])
    history = visitor_history(visitor=visitor_hash("v"))

    signal = content_signal(
        history, version=ModelVersion.objects.get(), product_filter=ProductFilter(), n=40
    )

    cosine = {p.pk: float(vectors[0] @ vectors[i]) for i, p in enumerate(products)}
    assert min(cosine[pid] for pid in signal.scores) < 0  # the walk reached opposite products
    for pid, score in signal.scores.items():
        assert score == pytest.approx(max(cosine[pid], 0.0), abs=1e-5)
