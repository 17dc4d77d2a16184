import os
import shutil
import unicodedata
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.db import OperationalError, connection, transaction
from django.test.utils import CaptureQueriesContext

from catalog.image_sources import ERROR_ARCHIVE_TOO_LARGE
from catalog.importers import ProductRow
from catalog.models import Category, ImportJob, ImportRowError, Product
from catalog.services import (
    category_get_or_create,
    import_job_cancel,
    import_job_create,
    import_job_run,
    imports,
    product_upsert,
)
from catalog.services import products as product_services

from .factories import csv_bytes, image_bytes, product, write, zip_bytes

pytestmark = pytest.mark.django_db

RED, BLUE, GREEN = (
    image_bytes((200, 30, 30)),
    image_bytes((30, 30, 200)),
    image_bytes((30, 200, 30)),
)


def mug(sku="MUG-1", **overrides) -> dict:
    row = {
        "sku": sku,
        "title": "Red mug",
        "price": "9.90",
        "currency": "EUR",
        "brand": "Hearth",
        "category": "Home > Kitchen > Mugs",
        "tags": "red|ceramic",
        "attributes": '{"colour": "red"}',
        "in_stock": "yes",
        "group_id": "MUG",
        "images": "mugs/red.jpg|mugs/red-side.jpg",
    }
    row.update(overrides)
    return row


def run_import(tmp_path: Path, rows: list[dict], members: dict[str, bytes], **csv_args):
    csv_path = write(tmp_path / "in" / "catalogue.csv", csv_bytes(rows, **csv_args))
    zip_path = write(tmp_path / "in" / "images.zip", zip_bytes(members))
    job = import_job_create(csv_file=csv_path, images=zip_path, enqueue=False)
    return import_job_run(job_id=job.pk)


def problems(job: ImportJob) -> list[tuple]:
    return list(job.row_errors.values_list("line", "level", "column", "sku", "message"))


def test_happy_path_creates_products_categories_and_images(tmp_path):
    job = run_import(
        tmp_path,
        [mug(), mug("MUG-2", title="Blue mug", images="mugs/blue.jpg")],
        {"mugs/red.jpg": RED, "mugs/red-side.jpg": GREEN, "mugs/blue.jpg": BLUE},
    )

    assert (job.state, job.rows_total, job.created_count, job.failed_count) == (
        "succeeded",
        2,
        2,
        0,
    )
    assert (job.images_added, job.images_rejected, problems(job)) == (3, 0, [])
    red = Product.objects.get(sku="MUG-1")
    assert (red.title, red.price, red.brand, red.tags, red.attributes, red.group_id) == (
        "Red mug",
        Decimal("9.90"),
        "Hearth",
        ["red", "ceramic"],
        {"colour": "red"},
        "MUG",
    )
    assert red.category.path == "Home > Kitchen > Mugs"
    assert red.category.parent.parent.path == "Home"
    images = list(red.images.order_by("position"))
    assert [(image.position, image.is_primary, image.source_name) for image in images] == [
        (0, True, "mugs/red.jpg"),
        (1, False, "mugs/red-side.jpg"),
    ]
    assert images[0].file.name.startswith(f"products/{images[0].sha256[:2]}/{images[0].sha256}")
    assert default_storage.exists(images[0].file.name)


def test_importing_the_same_files_twice_changes_nothing(tmp_path):
    members = {"mugs/red.jpg": RED, "mugs/red-side.jpg": GREEN}
    first = run_import(tmp_path, [mug()], members)
    stored = {image.pk: image.file.name for image in Product.objects.get().images.all()}
    updated_at = Product.objects.get().updated_at

    second = run_import(tmp_path, [mug()], members)

    assert (
        first.created_count,
        second.created_count,
        second.updated_count,
        second.unchanged_count,
        second.images_added,
    ) == (1, 0, 0, 1, 0)
    product = Product.objects.get()
    assert {image.pk: image.file.name for image in product.images.all()} == stored
    assert product.updated_at == updated_at


def test_changed_row_updates_fields_and_reorders_images(tmp_path):
    members = {"mugs/red.jpg": RED, "mugs/red-side.jpg": GREEN, "mugs/blue.jpg": BLUE}
    run_import(tmp_path, [mug()], members)
    job = run_import(tmp_path, [mug(price="11.00", images="mugs/blue.jpg|mugs/red.jpg")], members)

    assert (job.updated_count, job.images_added) == (1, 1)
    product = Product.objects.get()
    assert product.price == Decimal("11.00")
    assert list(product.images.values_list("source_name", "is_primary")) == [
        ("mugs/blue.jpg", True),
        ("mugs/red.jpg", False),
    ]


def test_bad_rows_are_skipped_and_reported_while_good_rows_are_kept(tmp_path):
    rows = [
        mug("OK-1"),
        mug("", title="no sku"),
        mug("BAD-PRICE", price="12,50"),
        mug("OK-2", images=""),
        mug("OK-1", title="duplicate"),
    ]
    job = run_import(tmp_path, rows, {"mugs/red.jpg": RED, "mugs/red-side.jpg": GREEN})

    assert sorted(Product.objects.values_list("sku", flat=True)) == ["OK-1", "OK-2"]
    assert (job.state, job.created_count, job.failed_count, job.rows_done) == ("succeeded", 2, 3, 5)
    assert problems(job) == [
        (3, "row", "sku", "", "sku is required"),
        (
            4,
            "row",
            "price",
            "BAD-PRICE",
            "price '12,50' is not a non-negative amount with at most 2 decimals",
        ),
        (6, "row", "sku", "OK-1", "SKU 'OK-1' already appeared on line 2; this row is ignored"),
    ]


def test_missing_and_corrupt_images_are_rejected_but_the_product_is_kept(tmp_path):
    rows = [mug(images="mugs/missing.jpg|mugs/corrupt.jpg|mugs/red.jpg|notes.txt")]
    members = {"mugs/red.jpg": RED, "mugs/corrupt.jpg": RED[:200], "notes.txt": b"hello"}
    job = run_import(tmp_path, rows, members)

    product = Product.objects.get(sku="MUG-1")
    assert list(product.images.values_list("source_name", "is_primary")) == [("mugs/red.jpg", True)]
    assert (job.created_count, job.images_added, job.images_rejected) == (1, 1, 3)
    messages = [row[4] for row in problems(job)]
    assert messages[0] == "mugs/missing.jpg: image 'mugs/missing.jpg' not found in the zip archive"
    assert messages[1].startswith("mugs/corrupt.jpg: the image data is corrupt or truncated")
    assert messages[2] == "notes.txt: the file is not a readable image"
    assert {row[1] for row in problems(job)} == {ImportRowError.Level.IMAGE_REJECTED}


def test_unsafe_image_paths_are_rejected_without_touching_the_filesystem(tmp_path):
    rows = [mug(images="../etc/passwd|/abs.jpg|a\\b.jpg|C:x.jpg|mugs/red.jpg")]
    job = run_import(tmp_path, rows, {"mugs/red.jpg": RED})

    assert job.images_rejected == 4
    assert [row[4] for row in problems(job)] == [
        "../etc/passwd: image path '../etc/passwd' is not a plain relative path",
        "/abs.jpg: image path '/abs.jpg' is not a plain relative path",
        "a\\b.jpg: image path 'a\\\\b.jpg' is not a plain relative path",
        "C:x.jpg: image path 'C:x.jpg' is not a plain relative path",
    ]


def test_images_from_a_folder(tmp_path):
    folder = tmp_path / "photos"
    write(folder / "mugs" / "red.jpg", RED)
    (folder / "mugs" / "escape.jpg").symlink_to(tmp_path / "outside.jpg")
    write(tmp_path / "outside.jpg", BLUE)
    csv_path = write(tmp_path / "c.csv", csv_bytes([mug(images="mugs/red.jpg|mugs/escape.jpg")]))

    job = import_job_run(
        job_id=import_job_create(csv_file=csv_path, images=folder, enqueue=False).pk
    )

    assert job.images_added == 1
    assert [row[4] for row in problems(job)] == [
        "mugs/escape.jpg: image path 'mugs/escape.jpg' is not a plain relative path"
    ]


def test_a_photo_in_the_folder_that_cannot_be_read_is_that_row_s_problem(tmp_path, monkeypatch):
    """Another user's file (the folder is the operator's, the worker another user): the
    PermissionError left the import running, retried to death, the rows after it never read."""
    from catalog import image_sources

    folder = tmp_path / "photos"
    write(folder / "mugs" / "red.jpg", RED)
    write(folder / "mugs" / "locked.jpg", BLUE)
    rows = [mug(images="mugs/locked.jpg"), mug("MUG-2", title="Blue mug", images="mugs/red.jpg")]
    csv_path = write(tmp_path / "c.csv", csv_bytes(rows))

    def open_as_another_user(path, *args, **kwargs):
        if Path(path).name == "locked.jpg":
            raise PermissionError(13, "Permission denied", str(path))
        return open(path, *args, **kwargs)

    monkeypatch.setattr(image_sources, "open", open_as_another_user, raising=False)
    job = import_job_run(
        job_id=import_job_create(csv_file=csv_path, images=folder, enqueue=False).pk
    )

    assert (job.state, job.created_count, job.images_added) == ("succeeded", 2, 1)
    [problem] = [row[4] for row in problems(job)]
    assert (
        problem.startswith(
            "mugs/locked.jpg: image 'mugs/locked.jpg' cannot be read from the image folder: "
        )
        and "Permission denied" in problem
    )


@pytest.mark.parametrize("source", ["zip", "folder"])
def test_an_accented_image_name_is_found_in_either_unicode_form(tmp_path, source):
    """macOS stores "café.jpg" decomposed (NFD) in a zip and in the folder it unpacks; a CSV
    typed elsewhere names it composed: "not found in the zip archive", although it was there."""
    decomposed = unicodedata.normalize("NFD", "mugs/café.jpg")
    composed = unicodedata.normalize("NFC", "mugs/café.jpg")
    if source == "zip":
        job = run_import(tmp_path, [mug(images=composed)], {decomposed: RED})
    else:
        write(tmp_path / "photos" / decomposed, RED)
        csv_path = write(tmp_path / "c.csv", csv_bytes([mug(images=composed)]))
        created = import_job_create(csv_file=csv_path, images=tmp_path / "photos", enqueue=False)
        job = import_job_run(job_id=created.pk)

    assert (job.images_added, problems(job)) == (1, [])


def test_a_csv_without_required_columns_fails_the_job_with_the_reason(tmp_path):
    csv_path = write(tmp_path / "c.csv", b"name,cost\nMug,1\n")
    job = import_job_run(job_id=import_job_create(csv_file=csv_path, enqueue=False).pk)
    assert (job.state, job.error) == ("failed", "missing required column(s): sku, title, price")
    assert Product.objects.count() == 0


def test_a_csv_the_worker_cannot_read_fails_the_import_saying_so(tmp_path):
    # Deleted, or a worker that does not share the media folder: the error escaped the task and
    # the job stayed `running` until the reaper failed it as "interrupted 3 times".
    job = import_job_create(csv_file=write(tmp_path / "c.csv", b"sku,title,price\n"), enqueue=False)
    default_storage.delete(job.csv_file.name)

    job = import_job_run(job_id=job.pk)

    assert job.state == "failed"
    assert job.error.startswith("the uploaded CSV cannot be read: [Errno 2] No such file")


def test_an_images_folder_the_worker_cannot_see_fails_the_import_naming_the_folder(tmp_path):
    # With --queue a folder is kept as its path, which the worker may not see: it was reported
    # as "not a readable zip archive".
    folder = tmp_path / "photos"
    write(folder / "mugs" / "red.jpg", RED)
    csv_path = write(tmp_path / "c.csv", csv_bytes([mug(images="mugs/red.jpg")]))
    job = import_job_create(csv_file=csv_path, images=folder, enqueue=False)
    shutil.rmtree(folder)

    job = import_job_run(job_id=job.pk)

    assert (job.state, job.error) == (
        "failed",
        f"the images folder {folder} is not found or not readable by the worker that runs the "
        "import",
    )


def test_a_job_interrupted_too_often_is_failed_not_retried_forever(tmp_path, settings):
    settings.PRODSIM_IMPORT_MAX_ATTEMPTS = 2
    csv_path = write(tmp_path / "c.csv", csv_bytes([mug(images="")]))
    job = import_job_create(csv_file=csv_path, enqueue=False)
    ImportJob.objects.filter(pk=job.pk).update(state="running", attempts=2)

    job = import_job_run(job_id=job.pk)

    assert (job.state, job.attempts) == ("failed", 3)
    assert job.error == "the import was interrupted 2 times and is not retried again"
    assert Product.objects.count() == 0


def test_a_rerun_announces_the_products_an_interrupted_run_wrote(tmp_path, monkeypatch):
    """Celery's retry after an outage, or the reaper's requeue, finds the earlier run's rows
    unchanged; unannounced, they would keep their old vectors and cached lists."""
    from catalog import changes

    before = product(sku="BEFORE")  # written before the job started: no change of the job's
    csv_path = write(tmp_path / "c.csv", csv_bytes([mug(images=""), mug("MUG-2", images="")]))
    job = import_job_create(csv_file=csv_path, enqueue=False)
    announced: list[list[int]] = []
    monkeypatch.setattr(
        changes, "catalogue_changed", lambda *, product_ids: announced.append(sorted(product_ids))
    )
    real_row = imports._import_row

    def outage_after_the_first_row(job, *args):
        if job.rows_done:
            raise OperationalError("server closed the connection unexpectedly")
        real_row(job, *args)

    monkeypatch.setattr(imports, "_import_row", outage_after_the_first_row)
    with pytest.raises(OperationalError):
        import_job_run(job_id=job.pk)
    announced.clear()  # as if that announcement had failed with the database, or never ran
    monkeypatch.setattr(imports, "_import_row", real_row)

    job = import_job_run(job_id=job.pk)

    assert (job.state, job.attempts, job.unchanged_count, job.created_count) == (
        "succeeded",
        2,
        1,
        1,
    )
    written = sorted(Product.objects.exclude(pk=before.pk).values_list("pk", flat=True))
    assert announced == [written]


def test_a_failed_row_leaves_no_stored_file_behind(tmp_path, media_root, monkeypatch):
    from catalog.services import products

    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(products, "_delete_unreferenced_files", explode)
    monkeypatch.setattr(products.ProductImage, "save", explode)
    with pytest.raises(RuntimeError, match="disk full"):
        run_import(tmp_path, [mug(images="mugs/red.jpg")], {"mugs/red.jpg": RED})

    assert Product.objects.count() == 0
    assert list((media_root / "products").rglob("*.jpg")) == []


# --- Cancelling ---------------------------------------------------------------------------------


def _plain_rows(count: int) -> list[dict]:
    return [mug(sku=f"MUG-{n:03d}", images="") for n in range(count)]


def test_a_queued_import_cancelled_never_reads_a_row(tmp_path):
    csv_path = write(tmp_path / "c.csv", csv_bytes(_plain_rows(3)))
    job = import_job_cancel(job=import_job_create(csv_file=csv_path, enqueue=False))
    assert (job.state, job.error) == (
        "cancelled",
        "cancelled by an admin before it started; nothing was imported",
    )

    job = import_job_run(job_id=job.pk)  # the worker's delivery arrives later

    assert (job.state, job.attempts, job.rows_done) == ("cancelled", 0, 0)
    assert Product.objects.count() == 0


def test_a_running_import_stops_at_its_next_progress_write_keeping_the_rows_done(tmp_path):
    csv_path = write(tmp_path / "c.csv", csv_bytes(_plain_rows(60)))
    job = import_job_create(csv_file=csv_path, enqueue=False)

    def admin_cancels_at_first_progress(running):
        assert import_job_cancel(job=running).state == "running"  # asked, not yet stopped

    job = import_job_run(job_id=job.pk, progress=admin_cancels_at_first_progress)

    assert (job.state, job.rows_done, job.created_count) == ("cancelled", 25, 25)
    assert job.error == (
        "cancelled by an admin after 25 of 60 rows; the rows imported until then stay"
    )
    assert Product.objects.count() == 25
    assert import_job_cancel(job=job).state == "cancelled"  # a finished job stays as it is


def test_a_cancelled_import_delivered_again_stops_before_any_row(tmp_path):
    csv_path = write(tmp_path / "c.csv", csv_bytes(_plain_rows(3)))
    job = import_job_create(csv_file=csv_path, enqueue=False)
    # The worker running it died after the admin's request; the broker hands it out again.
    ImportJob.objects.filter(pk=job.pk).update(
        state="running", attempts=1, rows_done=2, rows_total=3, cancel_requested=True
    )

    job = import_job_run(job_id=job.pk)

    assert (job.state, job.attempts) == ("cancelled", 2)
    assert job.error.startswith("cancelled by an admin after 2 of 3 rows")
    assert Product.objects.count() == 0


def test_ctrl_c_in_the_import_command_ends_the_job_cancelled_with_exact_counts(
    tmp_path, monkeypatch
):
    from django.core.management import CommandError, call_command

    upsert, calls = imports.product_upsert, []

    def interrupted_at_row_30(**kwargs):
        calls.append(1)
        if len(calls) == 30:
            raise KeyboardInterrupt
        return upsert(**kwargs)

    monkeypatch.setattr(imports, "product_upsert", interrupted_at_row_30)
    csv_path = write(tmp_path / "c.csv", csv_bytes(_plain_rows(60)))

    with pytest.raises(CommandError, match="interrupted after 29 of 60 rows"):
        call_command("import_catalogue", str(csv_path), verbosity=0)

    job = ImportJob.objects.get()
    assert (job.state, job.rows_done, job.created_count) == ("cancelled", 29, 29)
    assert Product.objects.count() == 29


@pytest.mark.parametrize(
    "arguments, message",
    [
        (lambda folder: [str(folder)], "is not a file"),
        (
            lambda folder: [
                str(write(folder / "c.csv", csv_bytes(_plain_rows(1)))),
                "--problems-csv",
                str(folder / "missing" / "p.csv"),
            ],
            "--problems-csv: the folder .* does not exist",
        ),
        (
            lambda folder: [
                str(write(folder / "c.csv", csv_bytes(_plain_rows(1)))),
                "--problems-csv",
                str(folder),  # found only once the whole import had run
            ],
            "--problems-csv: .* is a folder; name the file to write",
        ),
    ],
    ids=["a folder as the CSV", "a problems file in a missing folder", "a folder as problems"],
)
def test_the_import_command_refuses_bad_paths_before_a_job_exists(tmp_path, arguments, message):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match=message):
        call_command("import_catalogue", *arguments(tmp_path), verbosity=0)

    assert not ImportJob.objects.exists()


@pytest.mark.parametrize("named", ["csv", "zip"])
def test_the_import_command_refuses_a_problems_file_that_is_one_of_its_inputs(tmp_path, named):
    from django.core.management import CommandError, call_command

    inputs = {
        "csv": write(tmp_path / "in" / "shop.csv", csv_bytes(_plain_rows(1))),
        "zip": write(tmp_path / "in" / "photos.zip", zip_bytes({"a.jpg": RED})),
    }
    contents = {path: path.read_bytes() for path in inputs.values()}
    problems_path = tmp_path / "in" / ".." / "in" / inputs[named].name  # spelled another way

    with pytest.raises(CommandError, match="is the import's own input"):
        call_command(
            "import_catalogue",
            str(inputs["csv"]),
            "--images",
            str(inputs["zip"]),
            "--problems-csv",
            str(problems_path),
            verbosity=0,
        )

    assert {path: path.read_bytes() for path in contents} == contents  # was replaced
    assert not ImportJob.objects.exists()


def test_a_csv_the_command_may_not_read_is_a_command_error(tmp_path, monkeypatch):
    import builtins

    from django.core.management import CommandError, call_command

    csv_path = write(tmp_path / "c.csv", csv_bytes(_plain_rows(1)))
    real_open = builtins.open

    def permission_denied(file, *args, **kwargs):  # the tests run as root: denied at open()
        if str(file) == str(csv_path):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", permission_denied)

    with pytest.raises(CommandError, match=r"c\.csv cannot be read: Permission denied$"):
        call_command("import_catalogue", str(csv_path), verbosity=0)  # was a raw traceback
    assert not ImportJob.objects.exists()


def _interrupted_in_the_zip(monkeypatch, error: BaseException) -> None:
    """Storing the zip stops after its first chunk is written (Ctrl-C, a full disk)."""
    from django.core.files import File

    real_chunks = File.chunks

    def chunks(self, chunk_size=None):
        for number, chunk in enumerate(real_chunks(self, chunk_size)):
            if number and str(self.name).endswith(".zip"):
                raise error
            yield chunk

    monkeypatch.setattr(File, "chunks", chunks)


@pytest.mark.parametrize("error", [KeyboardInterrupt(), OSError(28, "No space left on device")])
def test_storing_the_files_cut_short_leaves_none_behind(tmp_path, media_root, monkeypatch, error):
    csv_path = write(tmp_path / "in" / "c.csv", csv_bytes(_plain_rows(1)))
    zip_path = write(tmp_path / "in" / "i.zip", os.urandom(200_000))  # a few chunks
    _interrupted_in_the_zip(monkeypatch, error)

    with pytest.raises(type(error)):
        import_job_create(csv_file=csv_path, images=zip_path, enqueue=False)

    assert not ImportJob.objects.exists()
    # The CSV stored first and the part of the zip written were left for good: no job names them.
    assert [path for path in media_root.rglob("*") if path.is_file()] == []


def test_ctrl_c_while_the_command_stores_the_files_is_a_command_error(
    tmp_path, media_root, monkeypatch
):
    from django.core.management import CommandError, call_command

    csv_path = write(tmp_path / "in" / "c.csv", csv_bytes(_plain_rows(1)))
    zip_path = write(tmp_path / "in" / "i.zip", os.urandom(200_000))
    _interrupted_in_the_zip(monkeypatch, KeyboardInterrupt())

    # Ctrl-C during the import is a CommandError (exit status 1); here it was a raw traceback.
    with pytest.raises(CommandError, match="interrupted while the import's files were stored"):
        try:
            call_command("import_catalogue", str(csv_path), "--images", str(zip_path), verbosity=0)
        except KeyboardInterrupt:  # caught: escaping, it would stop the whole test run
            pytest.fail("Ctrl-C escaped the command as KeyboardInterrupt")

    assert not ImportJob.objects.exists()
    assert [path for path in media_root.rglob("*") if path.is_file()] == []


# --- Categories -----------------------------------------------------------------------------------


def _category_queries(queries: CaptureQueriesContext) -> int:
    return sum('"catalog_category"' in query["sql"] for query in queries.captured_queries)


def _import_counting_queries(tmp_path: Path, rows: list[dict]) -> CaptureQueriesContext:
    csv_path = write(tmp_path / f"{len(rows)}.csv", csv_bytes(rows))
    job = import_job_create(csv_file=csv_path, enqueue=False)
    with CaptureQueriesContext(connection) as queries:
        job = import_job_run(job_id=job.pk)
    assert (job.state, job.created_count) == ("succeeded", len(rows))
    return queries


def test_rows_of_existing_categories_look_each_category_up_once_per_import(tmp_path):
    # Five leaf categories under two shared ancestors: seven categories, all there before.
    paths = [f"Home > Kitchen > Shelf {n}" for n in range(5)]
    for path in paths:
        category_get_or_create(path=path)

    few = _import_counting_queries(
        tmp_path, [mug(f"A-{n:03d}", category=paths[n % 5], images="") for n in range(20)]
    )
    many = _import_counting_queries(
        tmp_path, [mug(f"B-{n:03d}", category=paths[n % 5], images="") for n in range(80)]
    )

    # Was 9 per row (3 lookups and 6 slug checks for a 3-level path): 180 and 720.
    assert (_category_queries(few), _category_queries(many)) == (7, 7)
    # A new product's own work (savepoints, its lock and insert, its images); was ~16 per row.
    per_row = (len(many) - len(few)) / 60
    assert per_row <= 8


def test_new_categories_get_the_same_unique_slugs_and_are_created_once(tmp_path):
    rows = [
        mug("A", category="Home > Kitchen", images=""),
        mug("B", category="Home Kitchen", images=""),  # slugifies like "Home > Kitchen"
        mug("C", category="Home > Kitchen", images=""),
    ]

    job = run_import(tmp_path, rows, {})

    assert job.created_count == 3
    assert list(Category.objects.order_by("pk").values_list("path", "slug", "parent__path")) == [
        ("Home", "home", None),
        ("Home > Kitchen", "home-kitchen", "Home"),
        ("Home Kitchen", "home-kitchen-2", None),
    ]
    assert Product.objects.get(sku="C").category.path == "Home > Kitchen"


def test_a_category_created_by_a_row_that_rolled_back_is_not_reused_from_the_cache(monkeypatch):
    categories: dict[str, Category] = {}
    row = ProductRow(
        line=2, sku="T-1", title="Rake", price=Decimal("5"), currency="EUR", category_path="Garden"
    )

    def image_storage_fails(*args):
        raise OSError("disk full")

    with monkeypatch.context() as patched:
        patched.setattr(product_services, "_sync_images", image_storage_fails)
        with pytest.raises(OSError, match="disk full"):
            product_upsert(row=row, images=[], categories=categories)
    assert not Category.objects.exists()  # the row's transaction took its category with it

    result = product_upsert(row=row, images=[], categories=categories)

    # The row is written with a category that exists, not the rolled-back one (a foreign key is
    # checked only at commit: a stale cached category would pass here and fail the commit).
    created = Product.objects.get(pk=result.product_id).category
    assert list(Category.objects.values_list("pk", "path")) == [(created.pk, "Garden")]


def test_a_category_created_is_cached_once_its_transaction_commits(
    django_capture_on_commit_callbacks, django_assert_num_queries
):
    categories: dict[str, Category] = {}
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        tools = category_get_or_create(path="Garden > Tools", cache=categories)
        assert categories == {}  # not before the commit: the transaction may still roll back

    assert list(categories) == ["Garden", "Garden > Tools"]
    with django_assert_num_queries(0):
        assert category_get_or_create(path="Garden > Tools", cache=categories) == tools


def test_the_import_command_fails_when_every_row_was_rejected_and_not_when_one_was_kept(
    tmp_path,
):
    from django.core.management import CommandError, call_command

    from core.jobs.foreground import ERROR_NOTHING_KEPT

    bad = [{**row, "price": "abc"} for row in _plain_rows(2)]
    all_bad = write(tmp_path / "bad.csv", csv_bytes(bad))
    one_good = write(tmp_path / "mixed.csv", csv_bytes([*bad[:1], mug(sku="GOOD-1", images="")]))

    with pytest.raises(CommandError) as nothing_kept:
        call_command("import_catalogue", str(all_bad), verbosity=0)
    call_command("import_catalogue", str(one_good), verbosity=0)

    assert str(nothing_kept.value) == ERROR_NOTHING_KEPT.format(rejected=2)
    assert ImportJob.objects.filter(state="succeeded").count() == 2
    assert Product.objects.count() == 1


@pytest.mark.parametrize("over", ["csv", "zip"])
def test_a_file_over_its_cap_is_refused_before_anything_is_copied(
    tmp_path, settings, media_root, over
):
    from django.core.management import CommandError, call_command

    csv_path = write(tmp_path / "c.csv", csv_bytes(_plain_rows(3)))
    zip_path = write(tmp_path / "i.zip", zip_bytes({"a.png": image_bytes()}))
    if over == "csv":
        limit = settings.PRODSIM_MAX_CSV_BYTES = csv_path.stat().st_size - 1
        error = imports.ERROR_CSV_TOO_LARGE.format(limit=limit)
    else:
        limit = settings.PRODSIM_MAX_ARCHIVE_BYTES = zip_path.stat().st_size - 1
        error = ERROR_ARCHIVE_TOO_LARGE.format(limit=limit)

    with pytest.raises(CommandError) as refused:
        call_command("import_catalogue", str(csv_path), "--images", str(zip_path), verbosity=0)

    assert str(refused.value) == error
    assert not ImportJob.objects.exists()
    assert [p for p in media_root.rglob("*") if p.is_file()] == []  # nothing copied
