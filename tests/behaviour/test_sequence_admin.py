"""The sequence versions' admin: figures and curves, activate and roll back by permission, a new
training started from the add form and followed on the job's live page."""

import pytest
from django.urls import reverse

from behaviour.ml.sequence.config import SequenceConfig
from behaviour.models import SequenceModelVersion, SequenceTrainingJob
from behaviour.services.sequence import (
    sequence_training_cancel,
    sequence_training_start,
    sequence_version_activate,
)
from behaviour.services.sequence.rollback import ERROR_NO_PREVIOUS
from tests.staff import login, staff_user

pytestmark = pytest.mark.django_db

LIST_URL = reverse("admin:behaviour_sequencemodelversion_changelist")
ADD_URL = reverse("admin:behaviour_sequencemodelversion_add")
HISTORY = [
    {"epoch": 1, "loss": 2.5, "recall": 0.21, "ndcg": 0.1, "seconds": 3.0},
    {"epoch": 2, "loss": 2.1, "recall": 0.27, "ndcg": 0.12, "seconds": 3.1},
]


def ready_version(**extra) -> SequenceModelVersion:
    values = {"architecture": "gru", "status": "ready", "metrics": {"recall": 0.27}}
    return SequenceModelVersion.objects.create(**{**values, **extra})


def act(client, action: str, *versions):
    return client.post(
        LIST_URL, {"action": action, "_selected_action": [v.pk for v in versions]}, follow=True
    )


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_a_version_page_shows_its_figures_and_training_curves(admin_client):
    version = ready_version(history=HISTORY, dataset={"train_events": 120})

    html = admin_client.get(
        reverse("admin:behaviour_sequencemodelversion_change", args=[version.pk])
    ).content.decode()

    assert 'id="sequence-figures"' in html
    assert "<th>recall</th><td>0.27</td>" in html and "<th>train_events</th><td>120</td>" in html
    assert 'id="seq-loss-0"' in html and 'id="seq-recall-0"' in html
    assert "validation Recall@20" in html


def test_activate_and_roll_back_from_the_list(client):
    login(
        client,
        staff_user("behaviour.view_sequencemodelversion", "behaviour.activate_sequence_model"),
    )
    first, second = ready_version(), ready_version()

    act(client, "activate_version", first)
    act(client, "activate_version", second)
    assert SequenceModelVersion.objects.get(status="active") == second

    response = act(client, "rollback", second)
    assert SequenceModelVersion.objects.get(status="active") == first
    assert (
        f"Sequence version {first.pk} now serves the recommendations." in response.content.decode()
    )


def test_a_second_rollback_of_the_same_selection_changes_nothing(admin_client):
    """A double click on Go, or two admins: the second rollback made the version rolled back
    from active again, with two success messages and nothing changed."""
    first, second = ready_version(), ready_version()
    act(admin_client, "activate_version", first)
    act(admin_client, "activate_version", second)

    act(admin_client, "rollback", second)
    again = act(admin_client, "rollback", second)

    assert SequenceModelVersion.objects.get(status="active") == first
    assert messages_of(again) == [
        f"sequence version {second.pk} is not the active one (version {first.pk} is): nothing "
        "rolled back; select the active version to roll it back"
    ]


def test_without_the_permission_nothing_is_activated(client):
    login(client, staff_user("behaviour.view_sequencemodelversion"))
    version = ready_version()

    act(client, "activate_version", version)

    assert SequenceModelVersion.objects.get(pk=version.pk).status == "ready"


def test_activating_a_version_whose_files_are_gone_warns_what_serves_instead(admin_client):
    # The models volume restored without its folder: it is activated all the same.
    lost = ready_version(artifact_path="/nonexistent/model.npz", vectors_path="/nonexistent/v.npz")

    response = act(admin_client, "activate_version", lost)

    [message] = response.context["messages"]
    assert SequenceModelVersion.objects.get(pk=lost.pk).status == "active"
    assert message.level_tag == "warning"
    assert f"Sequence version {lost.pk} is active, but its files cannot be read" in str(message)
    assert "No such file or directory" in str(message) and "without its sequence" in str(message)


def test_a_failed_rollback_says_why(admin_client):
    sequence_version_activate(version=ready_version())

    response = act(admin_client, "rollback", SequenceModelVersion.objects.get())

    assert messages_of(response) == [ERROR_NO_PREVIOUS]


def test_the_add_form_queues_a_training_and_opens_its_live_page(
    admin_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.post(
            ADD_URL,
            {
                "train_architecture": "gru",
                "train_epochs": "3",
                "train_dim": "16",
                "train_negatives": "200",
                "activate": "on",
            },
        )

    job = SequenceTrainingJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "admin:behaviour_sequencetrainingjob_change", args=[job.pk]
    )
    params = job.version.params
    assert (params["epochs"], params["dim"], params["negatives"]) == (3, 16, 200)
    assert job.version.auto_activate is True and len(callbacks) == 1
    page = admin_client.get(response["Location"]).content.decode()
    assert 'id="cancel-training"' in page


@pytest.mark.parametrize("auto", [True, False])
def test_the_add_form_s_activate_box_starts_as_the_shop_set_it(admin_client, settings, auto):
    """The box was always ticked: a shop with PRODSIM_AUTO_ACTIVATE off got its admin-trained
    sequence versions activated unless someone unticked it."""
    settings.PRODSIM_AUTO_ACTIVATE = auto

    form = admin_client.get(ADD_URL).context["adminform"].form

    assert form.initial["activate"] is auto


def test_a_trainer_follows_the_training_they_started_on_its_live_page(client):
    login(client, staff_user("behaviour.train_sequence_model"))

    response = client.post(
        ADD_URL, {"train_architecture": "gru", "train_epochs": "3", "train_dim": "16"}
    )

    job = SequenceTrainingJob.objects.get()
    assert response["Location"] == reverse(
        "admin:behaviour_sequencetrainingjob_change", args=[job.pk]
    )
    assert client.get(response["Location"]).status_code == 200
    progress = client.get(reverse("admin:behaviour_sequencetrainingjob_progress", args=[job.pk]))
    assert progress.status_code == 200 and progress.json()["state"] == "queued"


def test_too_few_dimensions_is_one_error_on_its_field(admin_client):
    response = admin_client.post(
        ADD_URL, {"train_architecture": "gru", "train_epochs": "3", "train_dim": "2"}
    )

    form = response.context["adminform"].form
    assert list(form.errors) == ["train_dim"]
    assert not SequenceModelVersion.objects.exists()


def test_an_impossible_configuration_is_refused_with_the_reason(admin_client):
    response = admin_client.post(
        ADD_URL, {"train_architecture": "sasrec", "train_epochs": "3", "train_dim": "15"}
    )

    assert response.status_code == 200
    assert "dim 15 is not a multiple of heads 2" in response.content.decode()
    assert not SequenceModelVersion.objects.exists()


def test_the_serving_version_cannot_be_deleted_but_an_idle_one_can(admin_client):
    serving, idle = ready_version(), ready_version()
    sequence_version_activate(version=serving)

    def delete_page(version):
        return reverse("admin:behaviour_sequencemodelversion_delete", args=[version.pk])

    assert admin_client.post(delete_page(serving), {"post": "yes"}).status_code == 403
    admin_client.post(
        LIST_URL, {"action": "delete_selected", "_selected_action": [serving.pk], "post": "yes"}
    )
    admin_client.post(delete_page(idle), {"post": "yes"})

    assert list(SequenceModelVersion.objects.values_list("pk", flat=True)) == [serving.pk]


@pytest.mark.parametrize("state", ["queued", "running"])
def test_an_unfinished_training_is_cancelled_not_deleted(admin_client, state):
    """Deleted, it would strand its version queued or training (which cannot be deleted), and a
    running worker could not end it."""
    job = sequence_training_start(config=SequenceConfig(architecture="gru"), enqueue=False)
    if state == "running":
        SequenceTrainingJob.objects.filter(pk=job.pk).update(state="running", attempts=1)
    url = reverse("admin:behaviour_sequencetrainingjob_delete", args=[job.pk])

    page = admin_client.get(url)
    posted = admin_client.post(url, {"post": "yes"})
    action = admin_client.post(
        reverse("admin:behaviour_sequencetrainingjob_changelist"),
        {"action": "delete_selected", "_selected_action": [job.pk], "post": "yes"},
    )

    assert (page.status_code, posted.status_code, action.status_code) == (403, 403, 403)
    assert SequenceTrainingJob.objects.filter(pk=job.pk, state=state).exists()


def test_a_cancelled_training_can_be_deleted(admin_client):
    job = sequence_training_start(config=SequenceConfig(architecture="gru"), enqueue=False)
    sequence_training_cancel(job=job)

    response = admin_client.post(
        reverse("admin:behaviour_sequencetrainingjob_delete", args=[job.pk]), {"post": "yes"}
    )

    assert response.status_code == 302
    assert not SequenceTrainingJob.objects.filter(pk=job.pk).exists()
    assert SequenceModelVersion.objects.get(pk=job.version_id).status == "failed"
