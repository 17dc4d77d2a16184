"""An import job's uploaded files in the media storage (catalogue and event imports): stored
under names that fit any file system, and never left there by a copy cut short (Ctrl-C in a
multi-GB zip, a full disk)."""

from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path, PurePath

from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models.fields.files import FieldFile
from django.utils.crypto import get_random_string

from core.tasks import enqueue_on_commit

# File systems cap a name at 255 bytes, and a browser sends names of any length (90 Japanese
# characters are 270 bytes). 100 bytes keep 33 such characters, or 100 ASCII ones, of the
# original: enough to recognise it, with room for the random part and the suffix.
STORED_STEM_BYTES = 100
STORED_SUFFIX_CHARS = 10  # ".csv", ".zip"; a longer "suffix" is part of an odd name, dropped


def job_created_with_uploads(
    job, uploads: Sequence[tuple[FieldFile, UploadedFile | Path]], *, task: str, enqueue: bool
) -> None:
    """Store each upload as its field's file on the unsaved `job`, then save the job and, with
    `enqueue`, queue `task` once that commits. Whatever stops it before the job is saved (a
    storage error, Ctrl-C while a large file is copied), the files stored so far are deleted:
    no job names them, so nothing else ever would. Once saved, the job keeps them whatever
    becomes of its message (the reaper sends a waiting job again)."""
    try:
        for field_file, source in uploads:
            upload_store(field_file, source)
        with transaction.atomic():
            job.save()
    except BaseException:
        stored_files_delete(*(field_file for field_file, _ in uploads))
        raise
    if enqueue:
        enqueue_on_commit(task, job.pk)


def upload_store(field_file: FieldFile, source: UploadedFile | Path) -> None:
    """Copy `source` (an upload, or a file on the server) into the storage as the field's file
    (not saving the row), under a name of this upload's own (stored_name): a copy cut short
    leaves what it had written under that name, deleted here before the error goes on."""
    field, storage = field_file.field, field_file.storage
    name = field.generate_filename(field_file.instance, stored_name(source.name))
    try:
        if isinstance(source, Path):
            with open(source, "rb") as handle:
                field_file.name = storage.save(name, File(handle), max_length=field.max_length)
        else:
            field_file.name = storage.save(name, source, max_length=field.max_length)
    except BaseException:
        _delete_quietly(storage, name)
        raise


def stored_name(original: str) -> str:
    """`original`'s stem cut to STORED_STEM_BYTES, a random part (what Django adds to a name
    already taken; here always, so the name is this upload's alone) and its suffix:
    'shop_Ab3dE9x.csv'."""
    path = PurePath(original)
    suffix = path.suffix if len(path.suffix) <= STORED_SUFFIX_CHARS else ""
    stem = path.name.removesuffix(suffix).encode()[:STORED_STEM_BYTES]
    # A cut inside a character leaves its first bytes, which decoding drops.
    return f"{stem.decode(errors='ignore')}_{get_random_string(7)}{suffix}"


def stored_files_delete(*field_files: FieldFile) -> None:
    """Delete the files stored so far for a row that will not exist (nothing for an empty
    field): no row names them, so nothing else ever would."""
    for field_file in field_files:
        _delete_quietly(field_file.storage, field_file.name)


def _delete_quietly(storage, name: str) -> None:
    if name:
        with suppress(OSError):  # the error that stopped the caller is the one to report
            storage.delete(name)
