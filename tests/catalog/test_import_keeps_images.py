"""A catalogue file never costs a product the photos it holds: a price update without the zip or
the `images` column, a photo that fails this time, photos dropped from the middle of a list, a
field longer than the csv module's own limit, a photo no JPEG can hold."""

import pytest

from catalog.images import InvalidImage, prepare_image
from catalog.importers import ProductRow, RowProblem, parse_catalogue_csv
from catalog.models import Product
from catalog.services import import_job_create, import_job_run
from catalog.services.imports import IMAGES_KEPT

from .factories import CSV_HEADER, csv_bytes, image_bytes, write, zip_bytes

pytestmark = pytest.mark.django_db

PHOTOS = {f"p/{n}.jpg": image_bytes((40 * n, 30, 200 - 30 * n)) for n in range(1, 6)}


def row(images="p/1.jpg|p/2.jpg", **overrides) -> dict:
    return {"sku": "MUG-1", "title": "Mug", "price": "9.90", "images": images, **overrides}


def run_import(tmp_path, rows, members=None, header=CSV_HEADER):
    csv_path = write(tmp_path / "in" / "catalogue.csv", csv_bytes(rows, header=header))
    zip_path = None if members is None else write(tmp_path / "in" / "i.zip", zip_bytes(members))
    job = import_job_create(csv_file=csv_path, images=zip_path, enqueue=False)
    return import_job_run(job_id=job.pk)


def stored_photos() -> list[str]:
    return list(
        Product.objects.get().images.order_by("position").values_list("source_name", flat=True)
    )


def test_a_price_update_without_the_zip_keeps_the_photos_and_says_so(tmp_path):
    run_import(tmp_path, [row()], PHOTOS)

    job = run_import(tmp_path, [row(price="11.00")])

    assert (job.updated_count, job.images_rejected) == (1, 2)
    assert stored_photos() == ["p/1.jpg", "p/2.jpg"]
    assert str(Product.objects.get().price) == "11.00"
    assert all(m.endswith(IMAGES_KEPT) for m in job.row_errors.values_list("message", flat=True))


def test_a_file_without_the_images_column_or_an_empty_cell_keeps_the_photos(tmp_path):
    run_import(tmp_path, [row()], PHOTOS)
    header = [column for column in CSV_HEADER if column != "images"]
    no_column = {key: value for key, value in row(price="12.00").items() if key != "images"}

    run_import(tmp_path, [no_column], header=header)
    assert stored_photos() == ["p/1.jpg", "p/2.jpg"]

    job = run_import(tmp_path, [row(images="", price="13.00")], PHOTOS)
    assert (job.updated_count, job.images_rejected, stored_photos()) == (
        1,
        0,
        ["p/1.jpg", "p/2.jpg"],
    )


def test_a_photo_that_fails_this_time_costs_no_stored_photo(tmp_path):
    run_import(tmp_path, [row()], PHOTOS)

    job = run_import(tmp_path, [row(images="p/1.jpg|p/3.jpg")], {**PHOTOS, "p/3.jpg": b"broken"})

    assert (job.images_rejected, stored_photos()) == (1, ["p/1.jpg", "p/2.jpg"])


def test_a_new_product_with_a_broken_photo_gets_the_others(tmp_path):
    job = run_import(tmp_path, [row(images="p/1.jpg|p/3.jpg")], {**PHOTOS, "p/3.jpg": b"broken"})

    assert (job.created_count, stored_photos()) == (1, ["p/1.jpg"])
    assert not job.row_errors.get().message.endswith(IMAGES_KEPT)


def test_a_product_stored_without_photos_gets_the_good_ones_of_a_row_with_a_broken_one(tmp_path):
    run_import(tmp_path, [row()])  # its first import had no zip: no photo stored

    job = run_import(tmp_path, [row(images="p/1.jpg|p/3.jpg")], {**PHOTOS, "p/3.jpg": b"broken"})

    assert (job.updated_count, stored_photos()) == (1, ["p/1.jpg"])
    assert not job.row_errors.get().message.endswith(IMAGES_KEPT)


@pytest.mark.parametrize(
    "kept", ["p/1.jpg|p/5.jpg", "p/5.jpg|p/1.jpg", "p/2.jpg|p/4.jpg|p/5.jpg", "p/5.jpg"]
)
def test_dropping_photos_from_the_middle_renumbers_the_rest(tmp_path, kept):
    run_import(tmp_path, [row(images="|".join(PHOTOS))], PHOTOS)

    job = run_import(tmp_path, [row(images=kept)], PHOTOS)

    assert (job.state, job.updated_count) == ("succeeded", 1)
    assert stored_photos() == kept.split("|")
    assert list(
        Product.objects.get().images.order_by("position").values_list("position", "is_primary")
    ) == [(position, position == 0) for position in range(len(kept.split("|")))]


def test_a_field_longer_than_the_csv_modules_limit_costs_only_its_row():
    description = "<p>" + "x" * 140_000 + "\n</p>"
    data = csv_bytes(
        [row(description=description), row(sku="MUG-2")],
        header=["sku", "title", "price", "description", "images"],
    )

    parsed = list(parse_catalogue_csv(data, default_currency="EUR"))

    assert [type(item) for item in parsed] == [RowProblem, ProductRow]
    assert "longer than 100000 characters" in parsed[0].message
    assert parsed[1].sku == "MUG-2"


def test_a_photo_longer_than_a_jpeg_side_is_refused_by_name():
    data = image_bytes((10, 20, 30), size=(70_000, 2), fmt="PNG")

    with pytest.raises(InvalidImage, match="70000×2 pixels; no side may be longer than 65500"):
        prepare_image(data, max_bytes=10**7, max_pixels=10**7)
    transparent = image_bytes((10, 20, 30, 0), size=(70_000, 2), fmt="PNG", mode="RGBA")
    assert prepare_image(transparent, max_bytes=10**7, max_pixels=10**7).extension == "png"
