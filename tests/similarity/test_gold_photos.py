"""The gold photo set: admins' query photos with the expected SKU, every version scored on them
through the visual-search path (real TensorFlow training, LiteRT, PostgreSQL, pgvector)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from catalog.images import ERROR_NOT_IMAGE
from similarity.models import GoldPhoto, ModelVersion
from similarity.services.gold_photos import (
    ERROR_DUPLICATE,
    ERROR_UNKNOWN_SKU,
    GoldPhotoRejected,
    gold_photo_add,
    gold_photos_score,
)
from similarity.services.model_files import ERROR_NO_MODEL_FILES
from tests.catalog.factories import COLOURS, shape_catalogue, shape_image
from tests.similarity.factories import train_tiny

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("models_root")]


def test_a_version_is_scored_on_the_gold_photos_with_its_misses():
    shape_catalogue(groups_per_shape=2, colours=3)
    version, _ = train_tiny(refit_on_all=False)
    # The catalogue's own picture of SQUARE-0-1 finds it first (identical vectors); the same
    # picture filed under another SKU is a miss whose first find is SQUARE-0-1.
    picture = shape_image("square", COLOURS[1], offset=0)
    found = gold_photo_add(data=picture, expected_sku="SQUARE-0-1")
    wrong = gold_photo_add(data=picture, expected_sku="FRAME-1-2", note="filed wrongly")

    score = gold_photos_score(version=version)

    assert (score.photos, score.scored, score.recall_at_1) == (2, 2, 0.5)
    assert [(m.photo_id, m.expected_sku) for m in score.misses] == [(wrong.pk, "FRAME-1-2")]
    assert score.misses[0].found_skus[0] == "SQUARE-0-1"
    assert found.expected_sku == "SQUARE-0-1"


def test_an_unknown_sku_or_a_repeated_photo_is_refused_and_nothing_is_stored():
    shape_catalogue(colours=1)
    picture = shape_image("bar", COLOURS[0])
    gold_photo_add(data=picture, expected_sku="BAR-0-0")

    with pytest.raises(GoldPhotoRejected) as unknown:
        gold_photo_add(data=picture, expected_sku="NOPE")
    with pytest.raises(GoldPhotoRejected) as repeated:
        gold_photo_add(data=picture, expected_sku="BAR-0-0")

    assert str(unknown.value) == ERROR_UNKNOWN_SKU.format(sku="NOPE")
    assert str(repeated.value) == ERROR_DUPLICATE.format(sku="BAR-0-0")
    assert GoldPhoto.objects.count() == 1


def test_a_gold_photo_names_its_product_in_either_unicode_form():
    import unicodedata

    from tests.catalog.factories import product

    product(sku="CAF\u00c9-1")  # stored composed (NFC)
    picture = shape_image("bar", COLOURS[0])

    filed = gold_photo_add(data=picture, expected_sku=unicodedata.normalize("NFD", "CAF\u00c9-1"))

    assert filed.expected_sku == "CAF\u00c9-1"  # as stored, so scoring finds the product


def test_the_admin_uploads_a_gold_photo_and_shows_a_bad_file_precisely(admin_client):
    shape_catalogue(colours=1)
    url = reverse("admin:similarity_goldphoto_add")
    photo = SimpleUploadedFile("shot.png", shape_image("cross", COLOURS[0]))

    response = admin_client.post(url, {"photo": photo, "expected_sku": "CROSS-0-0", "note": ""})
    bad = SimpleUploadedFile("shot.png", b"not an image")
    refused = admin_client.post(url, {"photo": bad, "expected_sku": "CROSS-0-0", "note": ""})

    assert response.status_code == 302
    assert GoldPhoto.objects.get().expected_sku == "CROSS-0-0"
    assert refused.status_code == 200
    assert ERROR_NOT_IMAGE in refused.content.decode()
    assert GoldPhoto.objects.count() == 1


def test_the_scores_page_and_the_version_page_show_the_gold_photo_figures(admin_client):
    shape_catalogue(groups_per_shape=2, colours=3)
    version, _ = train_tiny(refit_on_all=False)
    gold_photo_add(data=shape_image("square", COLOURS[1], offset=0), expected_sku="SQUARE-0-1")

    scores = admin_client.get(reverse("admin:similarity_goldphoto_scores")).content.decode()
    page = admin_client.get(
        reverse("admin:similarity_modelversion_change", args=[version.pk])
    ).content.decode()

    assert f"v{version.pk}</a>" in scores and "1.000" in scores
    assert "R@1 1.000, R@10 1.000 on 1 of 1 photos" in page
    assert "figures of the selection run" not in page.lower()  # not refit: the served model
    assert "Figures of the served model on photos it never trained on." in page


def test_a_version_whose_model_folder_is_gone_is_shown_unscorable_and_why(
    admin_client, models_root
):
    shape_catalogue(colours=1, groups_per_shape=1)
    gold_photo_add(data=shape_image("cross", COLOURS[0]), expected_sku="CROSS-0-0")
    version = ModelVersion.objects.create(
        backbone="small_cnn",
        weights="none",
        input_size=32,
        embedding_dim=8,
        status="ready",
        artifact_dir=str(models_root / "v999"),  # deleted by hand, or a restore without models
    )
    reason = ERROR_NO_MODEL_FILES.format(pk=version.pk, folder=version.artifact_dir)

    scores = admin_client.get(reverse("admin:similarity_goldphoto_scores"))
    page = admin_client.get(reverse("admin:similarity_modelversion_change", args=[version.pk]))
    with pytest.raises(CommandError, match="its model files are gone"):
        call_command("evaluate", "--model-version", str(version.pk), "--gold-photos")
    with pytest.raises(CommandError, match="its model files are gone"):  # the protocols too
        call_command("evaluate", "--model-version", str(version.pk))

    assert scores.status_code == 200 and reason in scores.content.decode()
    assert page.status_code == 200 and reason in page.content.decode()


def test_each_photo_is_embedded_once_a_batch_at_a_time_and_later_pages_read_its_vector(
    monkeypatch,
):
    from similarity.services import gold_photo_vectors

    shape_catalogue(groups_per_shape=2, colours=3)
    version, _ = train_tiny(refit_on_all=False)
    for offset, sku in enumerate(["SQUARE-0-1", "FRAME-1-2", "BAR-0-0"]):
        gold_photo_add(data=shape_image("square", COLOURS[1], offset=offset), expected_sku=sku)
    batches = []
    load_batch = gold_photo_vectors.load_batch
    monkeypatch.setattr(gold_photo_vectors, "GOLD_EMBED_BATCH", 2)
    monkeypatch.setattr(
        gold_photo_vectors,
        "load_batch",
        lambda images, **kw: batches.append(len(images)) or load_batch(images, **kw),
    )

    first = gold_photos_score(version=version)
    embedded_first = list(batches)
    again = gold_photos_score(version=version)

    assert (embedded_first, batches) == ([2, 1], [2, 1])  # the second page embedded nothing
    assert again == first and first.scored == 3


def test_scores_stand_while_valkey_cannot_keep_the_vectors(monkeypatch):
    from redis.exceptions import ConnectionError as RedisConnectionError

    from similarity.services import gold_photo_vectors

    shape_catalogue(groups_per_shape=2, colours=3)
    version, _ = train_tiny(refit_on_all=False)
    gold_photo_add(data=shape_image("square", COLOURS[1], offset=0), expected_sku="SQUARE-0-1")
    expected = gold_photos_score(version=version)

    def unreachable(*args, **kwargs):
        raise RedisConnectionError("Valkey is down")

    monkeypatch.setattr(gold_photo_vectors.cache, "get_many", unreachable)
    monkeypatch.setattr(gold_photo_vectors.cache, "set_many", unreachable)

    assert gold_photos_score(version=version) == expected
