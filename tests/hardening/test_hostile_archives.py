"""Hostile zip archives fed to a real catalogue import: each bad member is refused with its
reason, good members beside it are kept, and nothing is written outside the media root."""

import io
import stat
import struct
import zipfile
from pathlib import Path

import pytest

from catalog.image_sources import ERROR_ENCRYPTED_MEMBER
from catalog.models import ImportJob, Product, ProductImage
from catalog.services import import_job_create, import_job_run
from tests.catalog.factories import csv_bytes, image_bytes, write

pytestmark = pytest.mark.django_db

GOOD = image_bytes((200, 30, 30))


def zip_of(members: list[tuple[zipfile.ZipInfo | str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for info, data in members:
            archive.writestr(info, data)
    return buffer.getvalue()


def symlink(name: str, target: str) -> tuple[zipfile.ZipInfo, bytes]:
    info = zipfile.ZipInfo(name)
    info.create_system = 3  # Unix, so the high word of external_attr is a mode
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info, target.encode()


def with_declared_size(data: bytes, size: int) -> bytes:
    """The same archive with its only member's uncompressed size rewritten in both headers."""
    patched = bytearray(data)
    struct.pack_into("<I", patched, patched.find(b"PK\x03\x04") + 22, size)
    struct.pack_into("<I", patched, patched.find(b"PK\x01\x02") + 24, size)
    return bytes(patched)


def encrypted(data: bytes, name: str) -> bytes:
    """The archive with `name`'s encryption flag set in its central directory entry, as a
    password-protected zip has it (zipfile refuses to read such a member: RuntimeError)."""
    patched = bytearray(data)
    entry = patched.find(b"PK\x01\x02", patched.find(name.encode()) + 1)
    while patched[entry + 46 : entry + 46 + len(name)] != name.encode():
        entry = patched.find(b"PK\x01\x02", entry + 1)
    patched[entry + 8] |= 0x01
    return bytes(patched)


def files_under(root: Path) -> set[str]:
    return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()}


def import_files(tmp_path: Path, images: list[str], archive: bytes) -> tuple[Path, Path]:
    rows = [
        {"sku": "GOOD", "title": "Good mug", "price": "5", "images": "good.jpg"},
        {"sku": "BAD", "title": "Bad mug", "price": "5", "images": "|".join(images)},
    ]
    inputs = tmp_path / "in"
    csv_path = write(
        inputs / "catalogue.csv", csv_bytes(rows, header=["sku", "title", "price", "images"])
    )
    return csv_path, write(inputs / "images.zip", archive)


def import_rows(tmp_path: Path, images: list[str], archive: bytes) -> ImportJob:
    csv_path, zip_path = import_files(tmp_path, images, archive)
    job = import_job_create(csv_file=csv_path, images=zip_path, enqueue=False)
    return import_job_run(job_id=job.pk)


def assert_nothing_escaped(tmp_path: Path, media_root: Path) -> None:
    """Only the inputs and the media root hold files; the media root holds the two uploads and
    exactly one derivative per stored image (no orphans)."""
    outside = {name for name in files_under(tmp_path) if not name.startswith(("in/", "media/"))}
    assert outside == set()
    derivatives = {name for name in files_under(media_root) if name.startswith("products/")}
    assert derivatives == {image.file.name for image in ProductImage.objects.all()}
    uploads = {name for name in files_under(media_root) if name.startswith("imports/")}
    assert len(uploads) == 2


MEMBER_CASES = [
    (
        "parent traversal",
        "../evil.jpg",
        [("../evil.jpg", GOOD)],
        "../evil.jpg: image path '../evil.jpg' is not a plain relative path",
    ),
    (
        "nested traversal",
        "a/../../evil.jpg",
        [("a/../../evil.jpg", GOOD)],
        "a/../../evil.jpg: image path 'a/../../evil.jpg' is not a plain relative path",
    ),
    (
        "absolute path",
        "/tmp/evil.jpg",
        [("/tmp/evil.jpg", GOOD)],
        "/tmp/evil.jpg: image path '/tmp/evil.jpg' is not a plain relative path",
    ),
    (
        "backslashes",
        "..\\evil.jpg",
        [("..\\evil.jpg", GOOD)],
        "..\\evil.jpg: image path '..\\\\evil.jpg' is not a plain relative path",
    ),
    (
        "drive letter",
        "C:/evil.jpg",
        [("C:/evil.jpg", GOOD)],
        "C:/evil.jpg: image path 'C:/evil.jpg' is not a plain relative path",
    ),
    (
        "control character",
        "evil\x07.jpg",
        [("evil\x07.jpg", GOOD)],
        "evil\x07.jpg: image path 'evil\\x07.jpg' is not a plain relative path",
    ),
    (
        "symlink member",
        "link.jpg",
        [symlink("link.jpg", "/etc/passwd")],
        "link.jpg: image 'link.jpg' is a symbolic link in the zip archive",
    ),
    (
        "nested zip",
        "inner.jpg",
        [("inner.jpg", zip_of([("good.jpg", GOOD)]))],
        "inner.jpg: image 'inner.jpg' is itself an archive; nested archives are not read",
    ),
    (
        "compression bomb",
        "bomb.jpg",
        [("bomb.jpg", b"\0" * 30_000_000)],  # 30 MB of zeros deflate to about 30 kB
        "bomb.jpg: image 'bomb.jpg' is larger than 20971520 bytes",
    ),
    (
        "not an image",
        "notes.jpg",
        [("notes.jpg", b"#!/bin/sh\nrm -rf /\n")],
        "notes.jpg: the file is not a readable image",
    ),
    (
        "encrypted member",
        "locked.jpg",
        [("locked.jpg", GOOD)],
        f"locked.jpg: {ERROR_ENCRYPTED_MEMBER.format(path='locked.jpg')}",
    ),
    (
        "missing member",
        "nowhere.jpg",
        [],
        "nowhere.jpg: image 'nowhere.jpg' not found in the zip archive",
    ),
]


@pytest.mark.parametrize(
    ("name", "path", "members", "message"), MEMBER_CASES, ids=[case[0] for case in MEMBER_CASES]
)
def test_hostile_members_are_rejected_per_image_and_good_ones_kept(
    tmp_path, media_root, name, path, members, message
):
    archive = zip_of([("good.jpg", GOOD), *members])
    if name == "encrypted member":  # a password-protected zip: its encryption flag set
        archive = encrypted(archive, "locked.jpg")
    job = import_rows(tmp_path, [path], archive)

    assert (job.state, job.created_count, job.images_added, job.images_rejected) == (
        "succeeded",
        2,
        1,
        1,
    )
    assert list(job.row_errors.values_list("line", "column", "sku", "message")) == [
        (3, "images", "BAD", message)
    ]
    assert Product.objects.get(sku="GOOD").images.count() == 1
    assert Product.objects.get(sku="BAD").images.count() == 0
    assert_nothing_escaped(tmp_path, media_root)


def lying_archive(declared: int) -> bytes:
    return with_declared_size(zip_of([("liar.jpg", GOOD)]), declared)


@pytest.mark.parametrize(
    ("declared", "message"),
    [
        (10, "liar.jpg: image 'liar.jpg' cannot be read from the zip archive: Bad CRC-32"),
        (2**32 - 1, None),  # claims 4 GB: the real bytes are counted, the image is fine
    ],
)
def test_headers_that_lie_about_sizes_are_judged_by_the_real_bytes(
    tmp_path, media_root, declared, message
):
    rows = [{"sku": "LIAR", "title": "Mug", "price": "5", "images": "liar.jpg"}]
    csv_path = write(
        tmp_path / "in" / "c.csv", csv_bytes(rows, header=["sku", "title", "price", "images"])
    )
    zip_path = write(tmp_path / "in" / "images.zip", lying_archive(declared))
    job = import_job_run(
        job_id=import_job_create(csv_file=csv_path, images=zip_path, enqueue=False).pk
    )

    messages = list(job.row_errors.values_list("message", flat=True))
    if message is None:
        assert (messages, job.images_added) == ([], 1)
    else:
        assert len(messages) == 1 and messages[0].startswith(message)
        assert job.images_added == 0
    assert_nothing_escaped(tmp_path, media_root)


@pytest.mark.parametrize(
    ("archive", "lowered_after_queueing", "error"),
    [
        (b"PK\x03\x04 not really a zip", False, "the images file is not a readable zip archive"),
        # A limit lowered while the job waited: it was refused at creation under the old one.
        (zip_of([("good.jpg", GOOD)]), True, "the images archive is larger than 100 bytes"),
    ],
    ids=["not a zip", "archive too large"],
)
def test_unusable_archives_fail_the_job_with_the_reason(
    tmp_path, media_root, settings, archive, lowered_after_queueing, error
):
    csv_path, zip_path = import_files(tmp_path, ["good.jpg"], archive)
    job = import_job_create(csv_file=csv_path, images=zip_path, enqueue=False)
    if lowered_after_queueing:
        settings.PRODSIM_MAX_ARCHIVE_BYTES = 100
    job = import_job_run(job_id=job.pk)

    assert job.state == "failed" and job.error.startswith(error)
    assert Product.objects.count() == 0
    assert_nothing_escaped(tmp_path, media_root)


def test_too_many_members_fail_the_archive_before_any_member_is_read(tmp_path):
    from catalog.image_sources import ImageSourceError, ZipImageSource

    path = write(tmp_path / "many.zip", zip_of([(f"{index}.jpg", b"") for index in range(101)]))
    with pytest.raises(ImageSourceError) as excinfo:
        ZipImageSource(path, max_bytes=1000, max_members=100)
    assert str(excinfo.value) == "the images archive has 101 members, more than the limit of 100"


def test_the_import_never_calls_extractall(monkeypatch, tmp_path, media_root):
    def refuse(*args, **kwargs):
        raise AssertionError("extractall/extract must never be used")

    monkeypatch.setattr(zipfile.ZipFile, "extractall", refuse)
    monkeypatch.setattr(zipfile.ZipFile, "extract", refuse)
    job = import_rows(tmp_path, ["good.jpg"], zip_of([("good.jpg", GOOD)]))
    assert (job.state, job.images_added) == ("succeeded", 2)


def test_a_nul_in_a_member_name_ends_the_name_and_cannot_smuggle_a_path(tmp_path, media_root):
    # zipfile cuts names at NUL, as unzip does: the member is "nul.jpg", nothing after it counts.
    job = import_rows(
        tmp_path, ["nul.jpg"], zip_of([("good.jpg", GOOD), ("nul.jpg\0/../../x", GOOD)])
    )

    assert (job.state, job.images_added, job.images_rejected) == ("succeeded", 2, 0)
    assert_nothing_escaped(tmp_path, media_root)


def test_a_nul_in_the_csv_image_path_rejects_the_row(tmp_path, media_root):
    rows = [
        {"sku": "GOOD", "title": "Good mug", "price": "5", "images": "good.jpg"},
        {"sku": "BAD", "title": "Bad mug", "price": "5", "images": "good.jpg\0../x"},
    ]
    csv_path = write(
        tmp_path / "in" / "c.csv", csv_bytes(rows, header=["sku", "title", "price", "images"])
    )
    zip_path = write(tmp_path / "in" / "images.zip", zip_of([("good.jpg", GOOD)]))
    job = import_job_run(
        job_id=import_job_create(csv_file=csv_path, images=zip_path, enqueue=False).pk
    )

    assert list(job.row_errors.values_list("line", "column", "sku", "message")) == [
        (3, "images", "BAD", "images contains a NUL byte")
    ]
    assert list(Product.objects.values_list("sku", flat=True)) == ["GOOD"]
    assert_nothing_escaped(tmp_path, media_root)
