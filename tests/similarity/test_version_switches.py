"""Activation and rollback confirmed in the admin: a confirmation switches to exactly the version
it showed, once, and never to a version whose model files are gone."""

import shutil
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from similarity.admin_views.lifecycle import CONFIRM_AGAIN, ROLLED_BACK
from similarity.models import ModelVersion
from similarity.services import VersionStateError, model_version_activate
from similarity.services.model_files import ERROR_CANNOT_ACTIVATE
from similarity.services.rollback import ERROR_ACTIVE_CHANGED, ERROR_ALREADY_ACTIVE
from tests.catalog.factories import COLOURS, shape_catalogue, shape_image

pytestmark = pytest.mark.django_db

ROLLBACK_URL = reverse("admin:similarity_modelversion_rollback")


def version(status="ready") -> ModelVersion:
    values = {"backbone": "small_cnn", "weights": "none", "input_size": 32, "embedding_dim": 8}
    return ModelVersion.objects.create(status=status, **values)


def statuses() -> dict[int, str]:
    return dict(ModelVersion.objects.values_list("pk", "status"))


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def confirm_rollback(client, *, target: ModelVersion, shown_active: ModelVersion):
    """POST the rollback confirmation as the page showing `target` and `shown_active` sends it."""
    fields = {"target": target.pk, "shown_active": shown_active.pk}
    return client.post(ROLLBACK_URL, fields, follow=True)


@pytest.fixture
def built(tmp_path):
    """A version with (fake) model files in its folder, as training leaves them."""

    def build() -> ModelVersion:
        made = version()
        folder = tmp_path / f"v{made.pk}"
        folder.mkdir()
        (folder / "model.tflite").write_bytes(b"weights")
        made.artifact_dir = str(folder)
        made.save(update_fields=["artifact_dir"])
        return made

    return build


def test_the_confirmation_page_carries_the_versions_it_shows(admin_client):
    first, second = version(), version()
    model_version_activate(version=first)
    model_version_activate(version=second)

    page = admin_client.get(ROLLBACK_URL).content.decode()

    assert f'name="target" value="{first.pk}"' in page
    assert f'name="shown_active" value="{second.pk}"' in page


def test_a_second_confirmation_of_the_same_rollback_changes_nothing(admin_client):
    """A double click, or two admins on the same page: the second POST must not roll back
    again, to a version neither was shown."""
    first, second = version(), version()
    model_version_activate(version=first)
    model_version_activate(version=second)

    done = confirm_rollback(admin_client, target=first, shown_active=second)
    again = confirm_rollback(admin_client, target=first, shown_active=second)

    assert statuses() == {first.pk: "active", second.pk: "ready"}
    assert messages_of(done) == [ROLLED_BACK.format(pk=first.pk, previous=second.pk)]
    assert messages_of(again) == [ERROR_ALREADY_ACTIVE.format(pk=first.pk)]


def test_a_rollback_confirmed_after_another_switch_changes_nothing(admin_client):
    first, second, third = version(), version(), version()
    model_version_activate(version=first)
    model_version_activate(version=second)
    model_version_activate(version=third)  # another admin, after the page showed v2 active

    response = confirm_rollback(admin_client, target=first, shown_active=second)

    assert statuses() == {first.pk: "ready", second.pk: "ready", third.pk: "active"}
    assert messages_of(response) == [
        ERROR_ACTIVE_CHANGED.format(shown=f"v{second.pk}", now=f"v{third.pk}")
    ]


def test_a_confirmation_that_names_no_version_changes_nothing(admin_client):
    first, second = version(), version()
    model_version_activate(version=first)
    model_version_activate(version=second)

    response = admin_client.post(ROLLBACK_URL, follow=True)

    assert statuses() == {first.pk: "ready", second.pk: "active"}
    assert CONFIRM_AGAIN in messages_of(response)


def test_a_version_whose_model_files_are_gone_is_not_activated(built):
    gone = built()
    shutil.rmtree(gone.artifact_dir)  # deleted by hand, or a restore without var/models

    with pytest.raises(VersionStateError) as refused:
        model_version_activate(version=gone)

    assert str(refused.value) == ERROR_CANNOT_ACTIVATE.format(pk=gone.pk, folder=gone.artifact_dir)
    assert statuses() == {gone.pk: "ready"}


def test_the_admin_is_told_why_before_and_after_activating_it(admin_client, built):
    first, gone = built(), built()
    model_version_activate(version=first)
    shutil.rmtree(gone.artifact_dir)
    url = reverse("admin:similarity_modelversion_activate", args=[gone.pk])
    reason = ERROR_CANNOT_ACTIVATE.format(pk=gone.pk, folder=gone.artifact_dir)

    page = admin_client.get(url).content.decode()
    response = admin_client.post(url, follow=True)

    assert reason in page and f"Yes, activate v{gone.pk}" not in page
    assert messages_of(response) == [reason]
    assert statuses() == {first.pk: "active", gone.pk: "ready"}


def test_nor_is_it_rolled_back_to(admin_client, built):
    first, second = built(), built()
    model_version_activate(version=first)
    model_version_activate(version=second)
    shutil.rmtree(first.artifact_dir)
    reason = ERROR_CANNOT_ACTIVATE.format(pk=first.pk, folder=first.artifact_dir)

    page = admin_client.get(ROLLBACK_URL).content.decode()
    response = confirm_rollback(admin_client, target=first, shown_active=second)

    assert reason in page and f"Yes, roll back to v{first.pk}" not in page
    assert messages_of(response) == [reason]
    assert statuses() == {first.pk: "ready", second.pk: "active"}


@pytest.mark.parametrize("damage", ["folder deleted", "model file emptied"])
def test_a_photo_search_with_a_broken_active_model_is_unavailable_not_a_500(client, built, damage):
    shape_catalogue(colours=1)
    active = built()
    model_version_activate(version=active)
    if damage == "folder deleted":
        shutil.rmtree(active.artifact_dir)
    else:  # a restore that stopped half way: the file is there, LiteRT cannot load it
        (Path(active.artifact_dir) / "model.tflite").write_bytes(b"")
    photo = SimpleUploadedFile("shot.png", shape_image("bar", COLOURS[0]))
    client.raise_request_exception = False

    response = client.post(reverse("storefront:visual-search"), {"photo": photo})

    assert response.status_code == 200
    assert "Search by photo is not available at the moment." in response.content.decode()
