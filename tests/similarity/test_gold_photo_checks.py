"""The gold photo set's checks: the admin forms validate before anything is stored, uploads
are bounded before they are read, duplicates are the same pixels, and scores count only what
visual search can show (active products)."""

import io
import unicodedata

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils.html import escape
from PIL import Image, PngImagePlugin

from catalog.images import ERROR_TOO_LARGE
from catalog.models import Product
from similarity import vector_store
from similarity.admin.gold_photo_forms import GoldPhotoForm
from similarity.ml.embedder import get_embedder
from similarity.models import GoldPhoto, ModelVersion
from similarity.services import gold_photo_vectors, gold_photos
from similarity.services.gold_photos import (
    ERROR_DUPLICATE,
    ERROR_INACTIVE_SKU,
    ERROR_UNKNOWN_SKU,
    GoldPhotoRejected,
    gold_photo_add,
)
from tests.catalog.factories import COLOURS, product, shape_catalogue, shape_image
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
        monkeypatch.setattr(gold_photo_vectors, "get_embedder", lambda _dir: FixedEmbedder(vector))
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


def _upload(client, data: bytes, sku: str):
    photo = SimpleUploadedFile("shot.jpg", data)
    return client.post(
        reverse("admin:similarity_goldphoto_add"), {"photo": photo, "expected_sku": sku, "note": ""}
    )


def _noise_png(side: int) -> bytes:
    buffer = io.BytesIO()
    Image.frombytes("RGB", (side, side), np.random.default_rng(0).bytes(side * side * 3)).save(
        buffer, format="PNG"
    )
    return buffer.getvalue()


def test_a_photo_over_the_size_limit_gets_the_forms_message_not_a_bare_400(admin_client, settings):
    """The upload handler hands the form the file's size, not a 400 page saying nothing."""
    shape_catalogue(colours=1)
    settings.PRODSIM_MAX_IMAGE_BYTES = 2000
    data = _noise_png(40)  # incompressible: about 5 kB
    assert len(data) > 2000

    response = _upload(admin_client, data, "BAR-0-0")

    assert response.status_code == 200
    assert ERROR_TOO_LARGE.format(limit=2000) in response.content.decode()
    assert not GoldPhoto.objects.exists()


def test_the_gold_photo_page_still_refuses_a_body_over_the_request_cap(admin_client, settings):
    settings.PRODSIM_MAX_IMAGE_BYTES = 2000
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    admin_client.raise_request_exception = False

    response = _upload(admin_client, b"\xff" * 30_000, "BAR-0-0")  # over 10 photos + fields

    assert response.status_code == 400
    assert not GoldPhoto.objects.exists()


def test_a_sku_typed_decomposed_is_measured_as_the_catalogue_stores_it(admin_client):
    """64 characters stored (NFC) are 77 typed decomposed (a macOS export): not too long."""
    sku = "CAF\u00c9-" + "\u00e9" * 36
    product(sku=sku)
    typed = unicodedata.normalize("NFD", sku)
    assert len(sku) <= 64 < len(typed)

    response = _upload(admin_client, shape_image("bar", COLOURS[0]), typed)

    assert response.status_code == 302
    assert GoldPhoto.objects.get().expected_sku == sku


def test_the_same_photo_filed_meanwhile_is_a_message_not_a_500(admin_client, monkeypatch):
    """A double-clicked upload: both requests pass the form's check before either stores."""
    shape_catalogue(colours=1)
    picture = shape_image("bar", COLOURS[0])
    gold_photo_add(data=picture, expected_sku="BAR-0-0")  # the other request, committed ...
    monkeypatch.setattr(  # ... after this one's form had found no such photo
        gold_photos, "gold_sku_check", lambda *, expected_sku, sha256: expected_sku
    )
    admin_client.raise_request_exception = False

    response = admin_client.post(
        reverse("admin:similarity_goldphoto_add"),
        {"photo": SimpleUploadedFile("a.png", picture), "expected_sku": "BAR-0-0", "note": ""},
        follow=True,
    )

    assert response.status_code == 200
    assert [str(m) for m in response.context["messages"]] == [ERROR_DUPLICATE.format(sku="BAR-0-0")]
    assert GoldPhoto.objects.count() == 1


def test_a_version_whose_model_file_does_not_load_is_unscorable_and_the_others_scored(
    admin_client, embedding_as, monkeypatch, tmp_path
):
    """A model file cut short (a restore that stopped half way): it exists, and loading it
    raises. That version is shown unscorable; the page of every version's scores stays up."""
    _, vectors = vector_catalogue(count=5)
    scored = embedding_as(vectors[0])
    gold_photo_add(data=shape_image("bar", COLOURS[0]), expected_sku="P000")
    (tmp_path / "model.tflite").write_bytes(b"")
    broken = ModelVersion.objects.create(
        backbone="small_cnn",
        weights="none",
        input_size=32,
        embedding_dim=8,
        status="ready",
        artifact_dir=str(tmp_path),
    )
    fixed = gold_photo_vectors.get_embedder
    monkeypatch.setattr(  # the real loader for the broken version
        gold_photo_vectors,
        "get_embedder",
        lambda folder: get_embedder(folder) if folder == str(tmp_path) else fixed(folder),
    )

    scores = admin_client.get(reverse("admin:similarity_goldphoto_scores")).content.decode()
    page = admin_client.get(reverse("admin:similarity_modelversion_change", args=[broken.pk]))

    reason = f"v{broken.pk} cannot be scored: its model files in {tmp_path} cannot be loaded"
    assert reason in scores and reason in page.content.decode()
    assert f"v{scored.pk}</a>" in scores and "1 of 1" in scores


def test_a_photo_within_a_raised_pixel_limit_is_scored(embedding_as, settings, monkeypatch):
    """48 MP phone shots: an operator raises PRODSIM_MAX_IMAGE_PIXELS above the preprocessing's
    own 40 MP default; the upload passes, and scoring must decode it under the same limit."""
    settings.PRODSIM_MAX_IMAGE_PIXELS = 50_000_000
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 50_000_000)  # as catalog.apps sets it
    _, vectors = vector_catalogue(count=5)
    version = embedding_as(vectors[1])
    buffer = io.BytesIO()
    Image.new("L", (6500, 6400), 128).save(buffer, format="JPEG")  # 41.6 MP
    gold_photo_add(data=buffer.getvalue(), expected_sku="P001")

    score = gold_photos.gold_photos_score(version=version)

    assert (score.scored, score.recall_at_1) == (1, 1.0)
