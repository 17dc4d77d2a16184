"""The experiment admin: deleting a test that runs or has run is a decision about a test (the
"run" permission), a variant takes no version it ignores, a started test's page offers nothing
to save, Start tells a running test from one that ran, and a running test whose split ended
says so."""

import re

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError

from behaviour.models import SequenceModelVersion
from experiments import services
from experiments.admin import DELETE_RAN, DELETE_RUNNING
from experiments.admin_state import SPLIT_ENDED
from experiments.models import CANDIDATE_IGNORED, CANDIDATE_MISSING, Experiment, Impression
from similarity.models import ModelVersion
from similarity.services import model_version_activate
from tests.staff import login, staff_user

from .factories import impressions, running

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/experiments/experiment/"
DELETER = ("experiments.view_experiment", "experiments.delete_experiment")
RUNNER = (*DELETER, "experiments.run_experiment")


def delete_url(experiment: Experiment) -> str:
    return f"{CHANGELIST}{experiment.pk}/delete/"


def stopped(shop) -> Experiment:
    experiment = running(shop.candidate, share=50)
    impressions(experiment, shop.candidate, "candidate", 10, [1])
    return services.experiment_stop(experiment=experiment)


@pytest.mark.parametrize("perms", [DELETER, RUNNER])
def test_a_running_experiment_cannot_be_deleted_only_stopped(client, shop, perms):
    experiment = running(shop.candidate, share=50)
    impressions(experiment, shop.candidate, "candidate", 10, [1])
    login(client, staff_user(*perms))

    page = client.get(delete_url(experiment))
    client.post(delete_url(experiment), {"post": "yes"})
    client.post(CHANGELIST, {"action": "delete_selected", "_selected_action": [experiment.pk]})
    client.post(
        CHANGELIST,
        {"action": "delete_selected", "_selected_action": [experiment.pk], "post": "yes"},
    )

    assert page["Location"] == f"{CHANGELIST}{experiment.pk}/change/"
    assert [str(m) for m in get_messages(page.wsgi_request)] == [DELETE_RUNNING]
    assert Experiment.objects.filter(pk=experiment.pk, active=True).exists()
    assert Impression.objects.filter(experiment=experiment).count() == 10


def test_deleting_an_experiment_that_ran_needs_the_run_permission_too(client, shop):
    experiment = stopped(shop)
    login(client, staff_user(*DELETER))

    page = client.get(delete_url(experiment))
    client.post(delete_url(experiment), {"post": "yes"})

    assert [str(m) for m in get_messages(page.wsgi_request)] == [DELETE_RAN]
    assert Impression.objects.filter(experiment=experiment).count() == 10

    login(client, staff_user(*RUNNER, username="runner"))
    assert client.post(delete_url(experiment), {"post": "yes"}).status_code == 302
    assert not Experiment.objects.filter(pk=experiment.pk).exists()


def test_an_experiment_that_never_ran_is_deleted_with_the_delete_permission(client, shop):
    draft = Experiment.objects.create(name="draft", candidate=shop.candidate, share=10)
    login(client, staff_user(*DELETER))

    client.post(delete_url(draft), {"post": "yes"})

    assert not Experiment.objects.filter(pk=draft.pk).exists()


@pytest.mark.parametrize(
    ("widget", "variant", "named"),
    [
        ("bought_together", "similar_items", "candidate"),
        ("trending", "newest", "candidate"),
        ("recommended", "without_repeats", "sequence_candidate"),
        ("similar", "model_version", "sequence_candidate"),
    ],
)
def test_a_version_the_variant_never_serves_is_refused(shop, widget, variant, named):
    sequence = SequenceModelVersion.objects.create(architecture="gru", status="ready")
    versions = {"candidate": shop.candidate, "sequence_candidate": sequence}
    needed = {"model_version": {"candidate": shop.candidate}}.get(variant, {})
    experiment = Experiment(
        name="odd", widget=widget, variant=variant, share=50, **needed, **{named: versions[named]}
    )

    with pytest.raises(ValidationError) as refused:
        experiment.full_clean()

    assert refused.value.message_dict == {named: [CANDIDATE_IGNORED]}


def test_a_version_variant_still_needs_its_version(shop):
    experiment = Experiment(name="seq", widget="recommended", variant="sequence_version", share=5)

    with pytest.raises(ValidationError, match=re.escape(CANDIDATE_MISSING)):
        experiment.full_clean()


def activated(version: ModelVersion) -> None:
    model_version_activate(version=version)


def archived(version: ModelVersion) -> None:
    ModelVersion.objects.filter(pk=version.pk).update(status=ModelVersion.Status.ARCHIVED)


@pytest.mark.parametrize("candidate_ends", [activated, archived])
def test_a_running_experiment_whose_split_ended_says_so(admin_client, shop, candidate_ends):
    experiment = running(shop.candidate, share=50)
    candidate_ends(shop.candidate)

    page = admin_client.get(f"{CHANGELIST}{experiment.pk}/change/").content.decode()
    listed = admin_client.get(CHANGELIST).content.decode()
    version = f"/admin/similarity/modelversion/{shop.candidate.pk}/change/"
    evidence = admin_client.get(version).content.decode()

    for html in (page, listed, evidence):
        assert SPLIT_ENDED in html.replace("&#x27;", "'")
        assert "running since" not in html


def test_a_running_experiment_still_splitting_is_shown_running(admin_client, shop):
    experiment = running(shop.candidate, share=50)

    page = admin_client.get(f"{CHANGELIST}{experiment.pk}/change/").content.decode()

    assert "running since" in page and SPLIT_ENDED not in page.replace("&#x27;", "'")


def test_a_started_experiments_page_offers_nothing_to_save(client, shop):
    """Every field of a started experiment is read-only: a Save would report a change that
    cannot happen. Deleting stays as it was (a stopped one, with the run permission)."""
    draft = Experiment.objects.create(name="draft", candidate=shop.candidate, share=10)
    login(client, staff_user(*RUNNER, "experiments.change_experiment"))
    ran = stopped(shop)
    started = [ran, running(shop.candidate, share=50)]

    assert 'name="_save"' in client.get(f"{CHANGELIST}{draft.pk}/change/").content.decode()
    for experiment in started:
        url = f"{CHANGELIST}{experiment.pk}/change/"
        page = client.get(url).content.decode()
        assert not re.search(r'name="_(save|continue|addanother)"', page)
        assert client.post(url, {"name": "renamed"}).status_code == 403
    assert (
        f'href="{delete_url(ran)}"' in client.get(f"{CHANGELIST}{ran.pk}/change/").content.decode()
    )
    assert Experiment.objects.filter(name="renamed").count() == 0


def test_starting_a_running_experiment_again_says_it_is_running(admin_client, shop):
    """A double-clicked Start: the second answer is that the test runs, not that it ran."""
    experiment = Experiment.objects.create(name="frames", candidate=shop.candidate, share=20)
    start = {"_selected_action": [experiment.pk], "action": "start"}
    admin_client.post(CHANGELIST, start)

    again = admin_client.post(CHANGELIST, start)
    services.experiment_stop(experiment=Experiment.objects.get(pk=experiment.pk))
    after_the_stop = admin_client.post(CHANGELIST, start)

    # The messages pile up unread, each answer's last.
    assert [str(m) for m in get_messages(again.wsgi_request)][-1] == services.ALREADY_RUNNING
    assert [str(m) for m in get_messages(after_the_stop.wsgi_request)][-1] == services.ALREADY_RAN
