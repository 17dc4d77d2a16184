"""A/B tests of every widget: an experiment names its widget and the variant its candidate arm
sees; one runs per widget at a time; impressions carry the widget's own experiment and arm, and
the results count that widget's impressions."""

import datetime as dt
import re

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from behaviour.models import ItemAssociation, SequenceModelVersion
from catalog.models import Product
from experiments import selectors, services
from experiments.admin_html import ACTIVE_SEQUENCE
from experiments.models import VARIANT_NOT_FOR_WIDGET, Experiment, Impression
from experiments.services import ExperimentStateError
from tests.catalog.factories import add_product, image_bytes
from tests.similarity.vector_store.factories import store

from .factories import at, impressions, running

pytestmark = pytest.mark.django_db

ACTIVE_ORDER = ["BAR-0-0", "BAR-0-1", "CROSS-0-0", "CROSS-0-1", "FRAME-0-0", "FRAME-0-1"]
Variant = Experiment.Variant


def widget_test(widget: str, variant: str, share: int = 100, **extra) -> Experiment:
    experiment = Experiment.objects.create(
        name=f"{widget} test", widget=widget, variant=variant, share=share, **extra
    )
    return services.experiment_start(experiment=experiment)


def logged(widget: str) -> set[tuple]:
    rows = Impression.objects.filter(widget=widget)
    return set(rows.values_list("experiment", "arm"))


def skus(response, widget: str) -> list[str]:
    return [item.product.sku for item in response.context[widget]]


def farther_products(shop, count: int) -> None:
    """FAR-0, FAR-1, …: products the active version places after all of the shop's."""
    for n in range(count):
        add_product(f"FAR-{n}", f"Far {n}", image=image_bytes(), group_id=f"far-{n}")
    farther = list(Product.objects.filter(sku__startswith="FAR-").order_by("pk"))
    store(shop.active, farther, [at(150 + 10 * n) for n in range(count)])


def test_the_candidate_arm_of_a_bought_together_test_sees_the_next_similar_items(client, shop):
    """Not those the Similar strip above shows: the candidate strip repeated it, sharing its
    clicks, and only the tested strip's were counted."""
    farther_products(shop, 3)
    experiment = widget_test("bought_together", Variant.SIMILAR_ITEMS)

    response = client.get("/products/SQUARE-0-0/")

    assert skus(response, "similar") == [*ACTIVE_ORDER, "FAR-0", "FAR-1"]  # its 8
    assert skus(response, "bought_together") == ["FAR-2"]  # the active version's ninth
    assert logged("bought_together") == {(experiment.pk, "candidate")}
    assert logged("similar") == {(None, "")}  # no experiment runs on the similar strip


def test_the_control_arm_keeps_the_behaviour_list(client, shop):
    experiment = widget_test("also_viewed", Variant.SIMILAR_ITEMS, share=0)

    response = client.get("/products/SQUARE-0-0/")

    # Without events the list is filled by complements of similar products, never the strip.
    assert [entry.why for entry in response.context["also_viewed"]][:1] == [
        "Goes with products like this one"
    ]
    assert logged("also_viewed") == {(experiment.pk, "control")}


def test_the_candidate_arm_of_a_trending_test_sees_the_newest_products(client, shop):
    experiment = widget_test("trending", Variant.NEWEST)
    client.get("/products/SQUARE-0-0/")  # a session and a viewed product: the home page logs

    response = client.get("/")

    newest = sorted(shop.products.values(), key=lambda p: (p.created_at, p.pk), reverse=True)
    assert skus(response, "trending") == [p.sku for p in newest[:6]]
    assert logged("trending") == {(experiment.pk, "candidate")}


def test_a_recommended_test_without_repeats_hides_what_the_shopper_bought(client, shop):
    bar, cross = shop.products["BAR-0-0"], shop.products["CROSS-0-0"]
    ItemAssociation.objects.create(
        kind="bought_together", product=bar, other=cross, score=1.0, support=1.0, recent=1
    )
    client.post("/basket/add/BAR-0-0/", {"quantity": "1"})
    client.post("/checkout/")
    control = skus(client.get("/products/SQUARE-0-0/"), "recommended")

    experiment = widget_test("recommended", Variant.WITHOUT_REPEATS)
    candidate = skus(client.get("/products/SQUARE-0-0/"), "recommended")

    assert {"BAR-0-0", "CROSS-0-0"} <= set(control[:3])  # repeats are on by default
    assert "BAR-0-0" not in candidate and "CROSS-0-0" in candidate[:2]
    assert (experiment.pk, "candidate") in logged("recommended")


def test_a_test_without_repeats_does_not_start_where_repeats_are_already_off(settings, shop):
    # Both arms would see the same strip: weeks of "no difference" about a change nobody saw.
    settings.PRODSIM_RECOMMEND_REPEATS = False
    experiment = Experiment.objects.create(
        name="no repeats", widget="recommended", variant=Variant.WITHOUT_REPEATS, share=50
    )
    with pytest.raises(ExperimentStateError, match=re.escape(services.REPEATS_ALREADY_OFF)):
        services.experiment_start(experiment=experiment)
    experiment.refresh_from_db()
    assert not experiment.active and experiment.started_at is None

    settings.PRODSIM_RECOMMEND_REPEATS = True
    assert services.experiment_start(experiment=experiment).active


def test_tests_of_two_widgets_run_at_once_but_one_per_widget(shop):
    similar = running(shop.candidate, 50)
    trending = widget_test("trending", Variant.NEWEST, share=50)
    second = Experiment.objects.create(
        name="again", widget="trending", variant=Variant.NEWEST, share=10
    )

    with pytest.raises(ExperimentStateError, match=re.escape(services.ANOTHER_RUNNING)):
        services.experiment_start(experiment=second)
    assert selectors.running_experiments() == {"similar": similar, "trending": trending}


@pytest.mark.parametrize(
    ("widget", "variant"),
    [("similar", Variant.NEWEST), ("trending", Variant.SIMILAR_ITEMS), ("recommended", "newest")],
)
def test_a_variant_that_does_not_fit_the_widget_is_refused(shop, widget, variant):
    experiment = Experiment(name="odd", widget=widget, variant=variant, share=10)

    with pytest.raises(ValidationError, match=re.escape(VARIANT_NOT_FOR_WIDGET)):
        experiment.full_clean()
    experiment.save()
    with pytest.raises(ExperimentStateError, match=re.escape(VARIANT_NOT_FOR_WIDGET)):
        services.experiment_start(experiment=experiment)


def test_a_sequence_version_test_needs_a_ready_candidate(shop):
    version = SequenceModelVersion.objects.create(architecture="gru", status="training")
    experiment = Experiment.objects.create(
        name="seq",
        widget="recommended",
        variant=Variant.SEQUENCE_VERSION,
        sequence_candidate=version,
        share=50,
    )

    with pytest.raises(ExperimentStateError, match=re.escape(services.CANDIDATE_NOT_READY)):
        services.experiment_start(experiment=experiment)


def test_the_results_count_the_tested_widgets_impressions(client, shop):
    farther_products(shop, 8)  # the candidate's six after the Similar strip's eight
    experiment = widget_test("bought_together", Variant.SIMILAR_ITEMS)
    client.get("/products/SQUARE-0-0/")
    shown = client.get("/products/SQUARE-0-0/").context["bought_together"]
    client.get(shown[0].click_url)

    results = selectors.experiment_results(experiment=experiment)

    candidate = results.arms["candidate"]
    assert results.widget == "bought_together"
    assert (candidate.impressions, candidate.clicked_impressions) == (12, 1)
    assert results.arms["control"].impressions == 0


def served_by(admin_client, experiment: Experiment) -> dict[str, str]:
    html = admin_client.get(f"/admin/experiments/experiment/{experiment.pk}/change/")
    return dict(
        re.findall(r"<tr><th>(control|candidate)</th><td>(.*?)</td>", html.content.decode())
    )


def test_a_sequence_version_test_names_the_sequence_version_of_each_arm(admin_client, shop):
    """Impressions record the image version only, the same in both arms; the sequence versions
    are the experiment's candidate and the version active throughout, while one was."""
    before = timezone.now() - dt.timedelta(days=1)
    serving = SequenceModelVersion.objects.create(
        architecture="gru", status="active", activated_at=before
    )
    candidate = SequenceModelVersion.objects.create(architecture="gru", status="ready")
    other = SequenceModelVersion.objects.create(architecture="sasrec", status="ready")
    experiment = widget_test(
        "recommended", Variant.SEQUENCE_VERSION, share=50, sequence_candidate=candidate
    )
    for arm in ("candidate", "control"):
        impressions(experiment, shop.active, arm, 6, [], widget="recommended")

    first = served_by(admin_client, experiment)
    serving.status = "ready"
    serving.save()
    other.status, other.activated_at = "active", timezone.now()
    other.save()  # activated mid-test: the control arm saw two versions, which none recorded
    later = served_by(admin_client, experiment)
    listed = admin_client.get("/admin/experiments/experiment/").content.decode()

    link = "/admin/behaviour/sequencemodelversion/{}/change/".format
    image = f"/admin/similarity/modelversion/{shop.active.pk}/change/"
    assert link(candidate.pk) in first["candidate"] and link(serving.pk) in first["control"]
    assert link(candidate.pk) in later["candidate"] and later["control"].startswith(ACTIVE_SEQUENCE)
    assert all(image in row for row in (*first.values(), *later.values()))
    assert re.search(rf'field-candidate_link"><a href="{link(candidate.pk)}"', listed)
