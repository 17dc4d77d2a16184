"""A stopped experiment's figures are final: a link shown before the stop stays valid for days,
and a click on it afterwards is logged (the shopper's navigation) but not counted."""

import datetime as dt

import pytest
from django.utils import timezone

from experiments import selectors, services
from experiments.admin_state import COUNTED_UNTIL_STOP
from experiments.models import Click, Impression

from .factories import impressions, running

pytestmark = pytest.mark.django_db


def test_a_click_after_the_stop_leaves_the_results_as_they_were(client, shop):
    experiment = running(shop.candidate, share=50)
    links = [item.click_url for item in client.get("/products/SQUARE-0-0/").context["similar"]]
    client.get(links[0])
    services.experiment_stop(experiment=experiment)
    before = selectors.experiment_results(experiment=experiment)

    client.get(links[0])  # a tab left open, clicked after the decision was taken
    client.get(links[1])

    after = selectors.experiment_results(experiment=experiment)
    assert Click.objects.count() == 3
    assert after == before
    assert [(a.impressions, a.clicks, a.clicked_impressions) for a in after.arms.values()] in (
        [(6, 1, 1), (0, 0, 0)],
        [(0, 0, 0), (6, 1, 1)],
    )
    assert after.counted_until == experiment.ended_at


def test_a_running_experiment_counts_every_click_and_its_page_says_when_counting_ends(
    admin_client, client, shop
):
    experiment = running(shop.candidate, share=50)
    link = client.get("/products/SQUARE-0-0/").context["similar"][0].click_url
    client.get(link)
    client.get(link)
    page = f"/admin/experiments/experiment/{experiment.pk}/change/"
    assert "counted up to the stop" not in admin_client.get(page).content.decode()
    assert selectors.experiment_results(experiment=experiment).counted_until is None

    services.experiment_stop(experiment=experiment)

    stop = f"{timezone.localtime(experiment.ended_at):%Y-%m-%d %H:%M}"
    html = admin_client.get(page).content.decode().replace("&#x27;", "'")
    assert f"<p>{COUNTED_UNTIL_STOP.format(stop)}</p>" in html  # a paragraph, not its markup
    counted = selectors.experiment_results(experiment=experiment).arms.values()
    assert sum(arm.clicks for arm in counted) == 2


def test_impressions_logged_after_the_stop_leave_the_results_as_they_were(client, shop):
    # A page that read the experiment as running just before the stop logs its impressions a
    # moment after it: nobody can follow them any more, so they must not lower the final CTR.
    experiment = running(shop.candidate, share=50)
    client.get(client.get("/products/SQUARE-0-0/").context["similar"][0].click_url)
    services.experiment_stop(experiment=experiment)
    before = selectors.experiment_results(experiment=experiment)

    late = impressions(experiment, shop.candidate, "candidate", 4, clicks=[1])
    Impression.objects.filter(pk__in=[i.pk for i in late]).update(
        created_at=experiment.ended_at + dt.timedelta(seconds=1)
    )

    assert selectors.experiment_results(experiment=experiment) == before


def test_the_results_say_when_retention_has_cut_the_tests_log(admin_client, shop, settings):
    """Retention deletes impressions of the retention period's age, running test or not: the
    page said 'running since …' over figures that counted only what was left."""
    from experiments.admin_state import COUNTED_FROM_RETENTION

    settings.PRODSIM_EVENT_RETENTION_DAYS = 30
    young = running(shop.candidate, share=50, name="young")
    services.experiment_stop(experiment=young)
    old = running(shop.candidate, share=50, name="old")
    started = timezone.now() - dt.timedelta(days=40)
    type(old).objects.filter(pk=old.pk).update(started_at=started)
    old.refresh_from_db()

    page = admin_client.get(f"/admin/experiments/experiment/{old.pk}/change/").content.decode()

    assert selectors.experiment_results(experiment=young).counted_from is None
    assert selectors.experiment_results(experiment=old).counted_from > started
    assert f"<p>{COUNTED_FROM_RETENTION.split('{}')[0]}" in page.replace("&#x27;", "'")
