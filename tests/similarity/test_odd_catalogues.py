"""Image training on catalogues a shop may well have but the usual tests do not: one photo per
product without groups or categories, an unreadable stored photo, the smallest catalogue
(real TensorFlow, PostgreSQL, pgvector)."""

import logging
from decimal import Decimal

import pytest
from django.core.files.storage import default_storage

from catalog import selectors as catalog_selectors
from catalog.models import ProductImage
from catalog.selectors import ImageRecord
from similarity.ml.evaluation.protocols import KNOWN_PRODUCTS, NEW_PRODUCTS
from similarity.models import Job
from similarity.services import protocol_queries, protocols, training_notes
from similarity.services.datasets import (
    ERROR_TOO_SMALL,
    ERROR_UNREADABLE,
    SPLITS,
    held_out_units,
)
from similarity.services.labels import ERROR_ONE_LABEL, resolve_label_source
from similarity.services.training_photos import photos_decode
from tests.catalog.factories import COLOURS, SHAPES, shape_image
from tests.similarity.factories import TINY, train_tiny

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("models_root")]


def shop(products: int, photos: int, *, category=lambda i: f"Shapes > {SHAPES[i % 4]}", group=""):
    """`products` products without a variant group (or all in `group`), `photos` shots each."""
    from catalog.images import prepare_image
    from catalog.importers import ProductRow
    from catalog.services import product_upsert
    from catalog.services.products import ImageToAttach

    for i in range(products):
        images = [
            ImageToAttach(
                prepare_image(
                    shape_image(SHAPES[i % 4], COLOURS[(i // 4) % 4], offset=view * 3),
                    max_bytes=10**6,
                    max_pixels=10**6,
                ),
                f"P{i}-{view}.png",
            )
            for view in range(photos)
        ]
        row = ProductRow(
            line=2,
            sku=f"P{i}",
            title=f"product {i}",
            price=Decimal("10"),
            currency="EUR",
            category_path=category(i),
            group_id=group,
        )
        product_upsert(row=row, images=images)


def _warnings_of(name: str):
    """The messages logger `name` writes (a handler of its own: the app's logging set-up can
    replace the root handlers pytest's caplog listens on)."""
    messages: list[str] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: messages.append(record.getMessage())
    logger = logging.getLogger(name)
    logger.addHandler(handler)
    yield messages
    logger.removeHandler(handler)


@pytest.fixture
def left_out():
    yield from _warnings_of("similarity.services.training_photos")


@pytest.fixture
def label_warnings():
    yield from _warnings_of("similarity.services.labels")


def break_photo(image: ProductImage) -> None:
    with default_storage.open(image.file.name, "wb") as handle:
        handle.write(b"not an image any more (disk error, partial restore)")


@pytest.mark.parametrize(
    ("label_source", "category"),
    [("auto", lambda i: ""), ("group", lambda i: f"Shapes > {SHAPES[i % 4]}")],
    ids=["no groups, no categories", "labelled by group in a shop without groups"],
)
def test_one_photo_per_product_trains_every_epoch_and_says_why_it_has_no_figures(
    label_source, category
):
    shop(20, 1, category=category)

    version, job = train_tiny(label_source=label_source)

    # Each photo is its own label: training still learns (augmented views of one photo are
    # its positives), but no held-out photo has anything of its label to find.
    assert (job.state, version.status) == ("succeeded", "active")
    assert [entry["val_recall_at_1"] for entry in version.history] == [None] * TINY["epochs"]
    assert version.metrics["protocols"] == {}
    assert version.metrics["evaluation"]["unmeasured"] == {
        KNOWN_PRODUCTS: protocol_queries.NO_QUERIES[KNOWN_PRODUCTS],
        NEW_PRODUCTS: protocol_queries.NO_POSITIVE.format(queries=4),  # 20 % of 20 products
    }
    log = Job.objects.get(pk=job.pk).log.splitlines()
    assert training_notes.NOTE_NO_EARLY_STOPPING.format(epochs=TINY["epochs"]) in log
    for protocol, why in version.metrics["evaluation"]["unmeasured"].items():
        assert training_notes.NOTE_UNMEASURED.format(protocol=protocol, why=why) in log


def test_one_unreadable_stored_photo_is_left_out_by_id_and_the_rest_trains(left_out):
    shop(12, 2)
    broken = ProductImage.objects.order_by("pk").first()
    break_photo(broken)

    version, job = train_tiny(label_source="auto")

    assert job.state == "succeeded", job.error
    data = version.dataset
    assert data["unreadable_image_ids"] == [broken.pk]
    assert sum(data["images"].values()) == 23  # what was trained and held out: all but one
    assert all(broken.pk not in data[f"{split}_image_ids"] for split in SPLITS if split != "train")
    note = training_notes.NOTE_UNREADABLE.format(count=1, ids=broken.pk)
    assert note in Job.objects.get(pk=job.pk).log.splitlines()
    assert left_out == [
        f"Image {broken.pk} does not decode and is left out: "
        "The file is not an image in an accepted format (JPEG, PNG, GIF, WebP, AVIF, BMP, TIFF)."
    ]


def test_a_missing_stored_file_is_logged_by_image_id_never_by_its_path(left_out):
    shop(2, 1)
    records = catalog_selectors.image_records()
    default_storage.delete(records[0].file_name)

    readable, unreadable, decoded = photos_decode(records, size=32)

    assert (readable, unreadable, list(decoded)) == (
        records[1:],
        [records[0].image_id],
        [records[1].image_id],
    )
    assert left_out == [
        f"Image {records[0].image_id} does not decode and is left out: No such file or directory"
    ]


def test_too_few_readable_photos_fail_with_how_many_do_not_decode():
    shop(4, 2)
    broken = ProductImage.objects.order_by("pk").first()
    break_photo(broken)

    version, job = train_tiny()

    assert job.error == "DatasetTooSmall: " + ERROR_TOO_SMALL.format(
        images=7, minimum=8
    ) + ERROR_UNREADABLE.format(count=1, ids=broken.pk)


def test_two_products_of_four_photos_train_on_both_and_hold_out_photos_within_them(
    monkeypatch,
):
    # The tiny random CNN sees every photo as a near-duplicate of the others (cosine ≈ 1):
    # without this, no photo could be held out within a product (tests/similarity/test_protocols).
    monkeypatch.setattr(protocols, "NEAR_DUPLICATE_COSINE", 1.01)
    shop(2, 4)  # 8 images: the documented minimum

    version, job = train_tiny(label_source="auto")

    assert job.state == "succeeded", job.error
    images = version.dataset["images"]
    assert (images["val"], images["test"], sum(images.values())) == (0, 0, 8)
    assert list(version.metrics["protocols"]) == [KNOWN_PRODUCTS]
    assert version.metrics["evaluation"]["unmeasured"] == {
        NEW_PRODUCTS: protocol_queries.NO_QUERIES[NEW_PRODUCTS]
    }


@pytest.mark.parametrize(
    ("units", "held_out"), [(1, (0, 0)), (2, (0, 0)), (3, (1, 0)), (4, (1, 1)), (10, (2, 1))]
)
def test_two_units_always_stay_in_training(units, held_out):
    assert held_out_units(units) == held_out


def test_from_four_units_on_the_held_out_shares_are_as_they_always_were():
    def before(units: int) -> tuple[int, int]:  # the split until small catalogues were fixed
        return max(1, round(units * 0.2)), max(1, round(units * 0.1))

    assert all(held_out_units(units) == before(units) for units in range(4, 5000))


def test_photos_within_a_raised_pixel_limit_are_trained_on_and_embedded(settings, monkeypatch):
    """48 MP phone shots: an operator raises PRODSIM_MAX_IMAGE_PIXELS above the preprocessing's
    own 40 MP default; the catalogue accepts them, so training and embedding must decode them."""
    import io

    from PIL import Image

    from catalog.selectors import ImageRecord
    from similarity.services.embedding import _decode

    settings.PRODSIM_MAX_IMAGE_PIXELS = 50_000_000
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 50_000_000)  # as catalog.apps sets it
    buffer = io.BytesIO()
    Image.new("L", (6500, 6400), 128).save(buffer, format="JPEG")  # 41.6 MP
    monkeypatch.setattr(catalog_selectors, "image_read", lambda file_name: buffer.getvalue())
    record = ImageRecord(1, 1, "big.jpg", "", "", "")

    readable, unreadable, _ = photos_decode([record], size=32)

    assert (readable, unreadable) == ([record], [])
    assert _decode(record, 32).shape == (32, 32, 3)


def test_auto_labels_pass_over_a_variant_group_holding_the_whole_catalogue(label_warnings):
    """A partner sends its collection as group_id: `auto` took the group, every photo had one
    label, the loss was 0 from the first step, and the untrained network was activated."""
    shop(12, 1, group="SS24")  # four shapes as categories

    version, job = train_tiny(label_source="auto")

    assert job.state == "succeeded", job.error
    assert (version.label_source, version.dataset["labels"]) == ("category", 4)
    assert label_warnings == ["label source auto: by group, every photo has one label; passed over"]


@pytest.mark.parametrize("label_source", ["category", "group"])
def test_a_label_source_giving_every_photo_one_label_fails_before_training(label_source):
    """Every query's whole gallery would be relevant: R@1 1.000 for the model and every
    baseline, which auto-activation took as beating the active version's real figure."""
    shop(12, 1, category=lambda i: "Shapes > square", group="SS24")

    version, job = train_tiny(label_source=label_source)

    assert job.state == "failed"
    assert job.error == "OneLabelOnly: " + ERROR_ONE_LABEL.format(source=label_source)
    assert version.status == "failed" and "model" not in version.metrics


def _records(groups: list[str], categories: list[str]) -> list[ImageRecord]:
    return [
        ImageRecord(i, i, f"{i}.png", "0" * 64, group, category)
        for i, (group, category) in enumerate(zip(groups, categories, strict=True))
    ]


@pytest.mark.parametrize(
    ("groups", "categories", "source"),
    [
        (["G1", "G1", "G2", "G2"], ["A", "A", "A", "A"], "group"),
        (["G1", "G1", "G1", "G1"], ["A", "A", "B", "B"], "category"),
        (["G1", "G1", "G1", "G1"], ["A", "A", "A", "A"], "product"),
        (["", "", "", ""], ["A", "A", "A", "A"], "product"),
        (["", "", "", ""], ["", "", "", ""], "category"),  # then each product: its own label
    ],
)
def test_auto_labels_take_the_first_source_giving_two_labels(groups, categories, source, caplog):
    records = _records(groups, categories)

    assert resolve_label_source(records, "auto") == source


def test_train_here_on_a_plain_shop_says_it_has_no_figures_instead_of_a_traceback(settings):
    """`train --here` read the figures of a protocol a plain shop cannot measure: a KeyError
    and exit 1 after a training that had succeeded and activated."""
    import io

    from django.core.management import call_command

    from similarity.management.commands.train import NO_FIGURES

    shop(20, 1, category=lambda i: "")
    settings.PRODSIM_TRAINING_DEFAULTS = {**TINY, "label_source": "auto"}
    out = io.StringIO()

    call_command("train", "--here", stdout=out)

    version = Job.objects.get().model_version
    assert out.getvalue().strip().endswith(f"v{version.pk} active; {NO_FIGURES}")
