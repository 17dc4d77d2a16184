"""The gold photo set's checks: the admin forms validate before anything is stored, uploads
are bounded before they are read, duplicates are the same pixels, and scores count only what
visual search can show (active products)."""

import io

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils.html import escape
from PIL import Image, PngImagePlugin

from catalog.images import ERROR_TOO_LARGE
from catalog.models import Product
from similarity import vector_store
from similarity.admin.gold_photos import GoldPhotoForm
from similarity.models import GoldPhoto, ModelVersion
from similarity.services import gold_photos
from similarity.services.gold_photos import (
    ERROR_DUPLICATE,
    ERROR_INACTIVE_SKU,
    ERROR_UNKNOWN_SKU,
    GoldPhotoRejected,
    gold_photo_add,
)
from tests.catalog.factories import COLOURS, shape_catalogue, shape_image
from tests.similarity.factories import vector_catalogue
from tests.staff import login, staff_user

pytestmark = pytest.mark.django_db


def _post_change(client, photo, sku):
    url = reverse("admin:similarity_goldphoto_change", args=[photo.pk])
    return client.post(url, {"expected_sku": sku, "note": ""})


def test_a_refused_upload_stores_nothing_and_its_corrected_resubmission_is_stored(admin_client):
    shape_catalogue(colours=1)
    url = reverse("admin:similarity_goldphoto_add")
    picture = shape_image("cross", COLOURS[0])

    def post(note):
        photo = SimpleUploadedFile("a.png", picture)
        return admin_client.post(url, {"photo": photo, "expected_sku": "CROSS-0-0", "note": note})

    refused = post("x" * 201)
    assert refused.status_code == 200
    assert not GoldPhoto.objects.exists()

    assert post("short").status_code == 302
    assert list(GoldPhoto.objects.values_list("expected_sku", "note")) == [("CROSS-0-0", "short")]


@pytest.mark.parametrize(
    "sku,error",
    [("NO-SUCH-SKU", ERROR_UNKNOWN_SKU), ("SQUARE-0-0", ERROR_INACTIVE_SKU)],
)
def test_the_change_form_refuses_a_sku_an_upload_would_refuse(admin_client, sku, error):
    shape_catalogue(colours=1)
    Product.objects.filter(sku="SQUARE-0-0").update(is_active=False)
    photo = gold_photo_add(data=shape_image("bar", COLOURS[0]), expected_sku="BAR-0-0")

    response = _post_change(admin_client, photo, sku)

    assert escape(error.format(sku=sku)) in response.content.decode()
    photo.refresh_from_db()
    assert photo.expected_sku == "BAR-0-0"


def test_the_change_form_refuses_a_sku_the_photo_is_already_filed_under(admin_client):
    shape_catalogue(colours=1)
    picture = shape_image("bar", COLOURS[0])
    gold_photo_add(data=picture, expected_sku="BAR-0-0")
    other = gold_photo_add(data=picture, expected_sku="SQUARE-0-0")

    response = _post_change(admin_client, other, "BAR-0-0")

    assert response.status_code == 200
    assert escape(ERROR_DUPLICATE.format(sku="BAR-0-0")) in response.content.decode()
    other.refresh_from_db()
    assert other.expected_sku == "SQUARE-0-0"


def test_the_note_of_a_photo_whose_product_was_deactivated_can_still_change(admin_client):
    shape_catalogue(colours=1)
    photo = gold_photo_add(data=shape_image("bar", COLOURS[0]), expected_sku="BAR-0-0")
    Product.objects.filter(sku="BAR-0-0").update(is_active=False)
    url = reverse("admin:similarity_goldphoto_change", args=[photo.pk])

    response = admin_client.post(url, {"expected_sku": "BAR-0-0", "note": "off sale"})

    assert response.status_code == 302
    photo.refresh_from_db()
    assert photo.note == "off sale"


class CountingUpload(SimpleUploadedFile):
    read_bytes = 0

    def read(self, *args):
        data = super().read(*args)
        CountingUpload.read_bytes += len(data)
        return data


def test_an_oversized_upload_is_refused_before_it_is_read(settings):
    shape_catalogue(colours=1)
    settings.PRODSIM_MAX_IMAGE_BYTES = 1000
    CountingUpload.read_bytes = 0
    upload = CountingUpload("huge.jpg", b"\xff" * 50_000)
    form = GoldPhotoForm(data={"expected_sku": "BAR-0-0", "note": ""}, files={"photo": upload})

    assert not form.is_valid()
    assert form.errors["photo"] == [ERROR_TOO_LARGE.format(limit=1000)]
    assert CountingUpload.read_bytes == 0


def _with_comment(data: bytes, text: str) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", text)
    out = io.BytesIO()
    Image.open(io.BytesIO(data)).save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def test_the_same_pixels_with_other_metadata_are_one_photo():
    shape_catalogue(colours=1)
    picture = shape_image("bar", COLOURS[0])
    gold_photo_add(data=_with_comment(picture, "shared by phone"), expected_sku="BAR-0-0")

    with pytest.raises(GoldPhotoRejected) as repeated:
        gold_photo_add(data=_with_comment(picture, "shared by mail"), expected_sku="BAR-0-0")

    assert str(repeated.value) == ERROR_DUPLICATE.format(sku="BAR-0-0")
    assert GoldPhoto.objects.count() == 1


def test_the_scores_page_needs_the_view_permission(client):
    login(client, staff_user())  # staff, no permission at all
    assert client.get(reverse("admin:similarity_goldphoto_scores")).status_code == 403

    login(client, staff_user("similarity.view_goldphoto", username="viewer"))
    assert client.get(reverse("admin:similarity_goldphoto_scores")).status_code == 200


class FixedEmbedder:
    def __init__(self, vector):
        self.vector = vector

    def embed(self, images):
        return np.repeat(self.vector[None, :], len(images), axis=0)


@pytest.fixture
def embedding_as(monkeypatch):
    """The active version of a vector catalogue whose embedder returns `vector` for any photo."""

    def embed_as(vector):
        version = ModelVersion.objects.get(status="active")
        version.artifact_dir = "/nonexistent/fake"  # the embedder is replaced
        version.save(update_fields=["artifact_dir"])
        monkeypatch.setattr(gold_photos, "model_files_problem", lambda _version: "")
        monkeypatch.setattr(gold_photos, "get_embedder", lambda _dir: FixedEmbedder(vector))
        return version

    return embed_as


def test_the_gold_score_searches_only_active_products(embedding_as):
    _, vectors = vector_catalogue(count=20)
    version = embedding_as(vectors[0])  # the photo looks most like P000 ...
    first, second = vector_store.nearest_products(version=version, vector=vectors[0], k=2)
    assert Product.objects.get(pk=first.product_id).sku == "P000"
    Product.objects.filter(sku="P000").update(is_active=False)  # ... which is off sale
    runner_up = Product.objects.get(pk=second.product_id).sku  # what visual search shows first
    gold_photo_add(data=shape_image("bar", COLOURS[0]), expected_sku=runner_up)

    score = gold_photos.gold_photos_score(version=version)

    assert (score.scored, score.recall_at_1, score.misses) == (1, 1.0, [])


def test_a_photo_of_a_deactivated_product_is_not_scored_and_new_ones_are_refused(embedding_as):
    _, vectors = vector_catalogue(count=20)
    version = embedding_as(vectors[3])
    gold_photo_add(data=shape_image("bar", COLOURS[0]), expected_sku="P003")
    Product.objects.filter(sku="P003").update(is_active=False)

    score = gold_photos.gold_photos_score(version=version)
    with pytest.raises(GoldPhotoRejected) as refused:
        gold_photo_add(data=shape_image("cross", COLOURS[0]), expected_sku="P003")

    assert (score.photos, score.scored) == (1, 0)
    assert str(refused.value) == ERROR_INACTIVE_SKU.format(sku="P003")
