"""Deleting an image model version: never the serving one nor one being built; a deleted one
leaves no vectors, no HNSW index and no folder behind."""

import pytest
from django.urls import reverse

from similarity import vector_store
from similarity.models import ModelVersion, ProductEmbedding
from similarity.services import model_version_activate
from similarity.services.version_deletion import model_version_delete
from similarity.services.versions import VersionStateError

from .factories import vector_catalogue

LIST_URL = reverse("admin:similarity_modelversion_changelist")


def delete_page(version) -> str:
    return reverse("admin:similarity_modelversion_delete", args=[version.pk])


def built_version(folder, status="ready") -> ModelVersion:
    version = ModelVersion.objects.create(
        backbone="small_cnn", weights="none", input_size=32, embedding_dim=8, status=status
    )
    version.artifact_dir = str(folder / f"v{version.pk}")
    version.save(update_fields=["artifact_dir"])
    (folder / f"v{version.pk}" / "export").mkdir(parents=True)  # deletion removes the tree
    (folder / f"v{version.pk}" / "model.tflite").write_bytes(b"weights")  # where the loader looks
    return version


def with_the_serving_vectors(folder, *, count: int) -> tuple[ModelVersion, ModelVersion]:
    """(the serving version of a catalogue of `count` vectors, an older built version holding
    the same product vectors)."""
    vector_catalogue(count=count)
    serving = ModelVersion.objects.get()
    old = built_version(folder)
    ProductEmbedding.objects.bulk_create(
        ProductEmbedding(
            model_version=old, product_id=e.product_id, embedding=e.embedding, image_count=1
        )
        for e in ProductEmbedding.objects.filter(model_version=serving)
    )
    return serving, old


@pytest.mark.django_db(transaction=True)  # the indexes are dropped after the delete commits
def test_a_deleted_version_leaves_no_vectors_index_or_folder(tmp_path):
    serving, old = with_the_serving_vectors(tmp_path, count=12)  # the serving ones must stay
    vector_store.hnsw_index_build(version=old)
    folder = tmp_path / f"v{old.pk}"

    model_version_delete(version=old)

    assert vector_store.hnsw_index_exists(version=ModelVersion(pk=old.pk)) is None
    assert not ProductEmbedding.objects.filter(model_version_id=old.pk).exists()
    assert not folder.exists(), "the deleted version's weights are left on disk"
    assert vector_store.hnsw_index_exists(version=serving) is True
    assert ProductEmbedding.objects.filter(model_version=serving).count() == 12


@pytest.mark.django_db
@pytest.mark.parametrize("status", ["active", "queued", "training", "embedding", "indexing"])
def test_the_serving_version_and_one_being_built_are_not_deleted(tmp_path, status):
    version = built_version(tmp_path, status=status)

    with pytest.raises(VersionStateError, match=f"v{version.pk}"):
        model_version_delete(version=version)

    assert ModelVersion.objects.filter(pk=version.pk).exists()
    assert (tmp_path / f"v{version.pk}").exists()


@pytest.mark.django_db
def test_a_version_another_admin_deleted_first_is_deleted_again_without_an_error(tmp_path):
    version = built_version(tmp_path)
    ModelVersion.objects.filter(pk=version.pk).delete()  # another admin's delete, meanwhile

    model_version_delete(version=version)  # this admin's stale copy

    assert not ModelVersion.objects.filter(pk=version.pk).exists()


@pytest.mark.django_db
def test_the_admin_deletes_through_the_service_and_never_the_serving_version(
    admin_client, tmp_path, django_capture_on_commit_callbacks
):
    serving, idle, failed = (built_version(tmp_path) for _ in range(3))
    model_version_activate(version=serving)
    ModelVersion.objects.filter(pk=failed.pk).update(status="failed")

    def delete_selected(*versions):
        selected = [v.pk for v in versions]
        form = {"action": "delete_selected", "_selected_action": selected, "post": "yes"}
        return admin_client.post(LIST_URL, form)

    assert admin_client.post(delete_page(serving), {"post": "yes"}).status_code == 403
    assert delete_selected(serving, failed).status_code == 403  # asks per object, refuses all
    assert ModelVersion.objects.count() == 3
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(delete_page(idle), {"post": "yes"})
        delete_selected(failed)

    assert list(ModelVersion.objects.values_list("pk", flat=True)) == [serving.pk]
    assert not (tmp_path / f"v{idle.pk}").exists() and not (tmp_path / f"v{failed.pk}").exists()
    assert (tmp_path / f"v{serving.pk}").exists()


@pytest.mark.django_db
def test_the_delete_confirmation_counts_a_version_s_vectors_instead_of_listing_each(
    admin_client, tmp_path, django_assert_max_num_queries
):
    """Django's page collected and rendered every vector row (a row per photo of the shop, each
    with a copy of the version) on the page and again on the confirming POST: past a web
    worker's time limit for a large catalogue, so old versions could not be deleted."""
    _, old = with_the_serving_vectors(tmp_path, count=40)

    with django_assert_max_num_queries(20):
        page = admin_client.get(delete_page(old)).content.decode()

    assert "<li>40 product embeddings</li>" in page
    assert page.count("<li>Product embedding:") == 0
    assert "Are you sure you want to delete" in page


@pytest.mark.django_db
def test_a_version_an_experiment_tests_is_protected_on_its_delete_confirmation(
    admin_client, tmp_path
):
    from experiments.models import Experiment

    candidate = built_version(tmp_path)
    Experiment.objects.create(name="photos v2", widget="similar", candidate=candidate, share=50)

    page = admin_client.get(delete_page(candidate)).content.decode()
    admin_client.post(delete_page(candidate), {"post": "yes"})

    assert "would require deleting the following protected related objects" in page
    assert "Experiment: photos v2" in page
    assert ModelVersion.objects.filter(pk=candidate.pk).exists()
