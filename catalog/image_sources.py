"""Where an import's images come from: a server-side folder or an uploaded zip archive.

Both answer `read(relative_path) -> bytes` and refuse any path that could leave their root.
The zip is never extracted: members are read one at a time, with their real size counted.
"""

import lzma
import os
import stat
import unicodedata
import zipfile
import zlib
from pathlib import Path, PurePosixPath

ERROR_UNSAFE_PATH = "image path {path!r} is not a plain relative path"
ERROR_NOT_FOUND = "image {path!r} not found in the {source}"
ERROR_FOLDER_UNREADABLE = (
    "the images folder {folder} is not found or not readable by the worker that runs the import"
)
ERROR_TOO_LARGE = "image {path!r} is larger than {limit} bytes"
ERROR_BAD_ARCHIVE = "the images file is not a readable zip archive: {reason}"
ERROR_FILE_UNREADABLE = "image {path!r} cannot be read from the image folder: {reason}"
ERROR_ENCRYPTED_MEMBER = "image {path!r} is encrypted in the zip archive: zip it without a password"
ERROR_BAD_MEMBER = "image {path!r} cannot be read from the zip archive: {reason}"
ERROR_ARCHIVE_TOO_LARGE = "the images archive is larger than {limit} bytes"
ERROR_TOO_MANY_MEMBERS = "the images archive has {count} members, more than the limit of {limit}"
ERROR_SYMLINK_MEMBER = "image {path!r} is a symbolic link in the zip archive"
ERROR_NESTED_ARCHIVE = "image {path!r} is itself an archive; nested archives are not read"
# A catalogue of 100k products with 10 images each; the central directory of a zip with more
# entries than this costs more memory to list than any real catalogue needs.
MAX_ARCHIVE_MEMBERS = 1_000_000
ARCHIVE_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06", b"\x1f\x8b", b"7z\xbc\xaf", b"Rar!")
# A member that cannot be inflated: damaged or cut short (NotImplementedError: its method).
MEMBER_READ_ERRORS = (zipfile.BadZipFile, OSError, EOFError, zlib.error, lzma.LZMAError)


class ImageSourceError(ValueError):
    """An image could not be read from the source; the message says why."""


def safe_relative_path(path: str) -> PurePosixPath:
    """Reject absolute paths, '..', backslashes, drive letters and control characters."""
    if (
        not path
        or "\\" in path
        or path.startswith("/")
        or ":" in path
        or any(ord(char) < 32 or ord(char) == 127 for char in path)
    ):
        raise ImageSourceError(ERROR_UNSAFE_PATH.format(path=path))
    relative = PurePosixPath(path)
    if any(part in {"..", ""} for part in relative.parts):
        raise ImageSourceError(ERROR_UNSAFE_PATH.format(path=path))
    return relative


class DirectoryImageSource:
    """Images in a folder on the server (management command imports)."""

    def __init__(self, root: Path, *, max_bytes: int):
        # Kept as a path (import_catalogue --queue): a worker in another container may not see
        # it, and every image would be "not found" without the reason.
        if not root.is_dir() or not os.access(root, os.R_OK | os.X_OK):
            raise ImageSourceError(ERROR_FOLDER_UNREADABLE.format(folder=root))
        self.root = root.resolve()
        self.max_bytes = max_bytes

    def read(self, path: str) -> bytes:
        target = self._found(safe_relative_path(path))
        # resolve() follows symlinks: a link pointing out of the root is treated as unsafe.
        if not target.is_relative_to(self.root):
            raise ImageSourceError(ERROR_UNSAFE_PATH.format(path=path))
        if not target.is_file():
            raise ImageSourceError(ERROR_NOT_FOUND.format(path=path, source="image folder"))
        try:
            with open(target, "rb") as handle:
                data = handle.read(self.max_bytes + 1)
        except OSError as exc:  # another user's file: this row's image, not the whole import
            raise ImageSourceError(ERROR_FILE_UNREADABLE.format(path=path, reason=exc)) from exc
        if len(data) > self.max_bytes:
            raise ImageSourceError(ERROR_TOO_LARGE.format(path=path, limit=self.max_bytes))
        return data

    def _found(self, relative: Path) -> Path:
        """The file as named, or in the other Unicode form: a folder unpacked from a macOS zip
        names "café.jpg" decomposed, which a CSV typed elsewhere writes composed (the root,
        named by the operator, as it is)."""
        for form in ("NFC", "NFD"):
            other = self.root / unicodedata.normalize(form, str(relative))
            if not (self.root / relative).exists() and other.exists():
                return other.resolve()
        return (self.root / relative).resolve()

    def close(self) -> None:
        pass


class ZipImageSource:
    """Images in an uploaded zip archive, read member by member."""

    def __init__(
        self,
        archive: Path,
        *,
        max_bytes: int,
        max_archive_bytes: int | None = None,
        max_members: int = MAX_ARCHIVE_MEMBERS,
    ):
        self.max_bytes = max_bytes
        try:
            if max_archive_bytes is not None and archive.stat().st_size > max_archive_bytes:
                raise ImageSourceError(ERROR_ARCHIVE_TOO_LARGE.format(limit=max_archive_bytes))
            self._zip = zipfile.ZipFile(archive)
        except (zipfile.BadZipFile, OSError) as exc:
            raise ImageSourceError(ERROR_BAD_ARCHIVE.format(reason=exc)) from exc
        infos = self._zip.infolist()
        if len(infos) > max_members:
            self._zip.close()
            raise ImageSourceError(
                ERROR_TOO_MANY_MEMBERS.format(count=len(infos), limit=max_members)
            )
        # By their composed (NFC) names: macOS's Archive Utility stores "café.jpg" decomposed,
        # which a CSV typed elsewhere writes composed (the first of two such twins is kept).
        self._members = {}
        for info in infos:
            if not info.is_dir():
                self._members.setdefault(unicodedata.normalize("NFC", info.filename), info)

    def read(self, path: str) -> bytes:
        member = self._members.get(unicodedata.normalize("NFC", str(safe_relative_path(path))))
        if member is None:
            raise ImageSourceError(ERROR_NOT_FOUND.format(path=path, source="zip archive"))
        if stat.S_ISLNK(member.external_attr >> 16):  # Unix mode bits live in the high word
            raise ImageSourceError(ERROR_SYMLINK_MEMBER.format(path=path))
        # Count the bytes actually inflated: the header's file_size may lie (zip bombs).
        try:
            with self._zip.open(member) as handle:
                data = handle.read(self.max_bytes + 1)
        except (*MEMBER_READ_ERRORS, NotImplementedError) as exc:
            raise ImageSourceError(ERROR_BAD_MEMBER.format(path=path, reason=exc)) from exc
        except RuntimeError as exc:  # zipfile's word for a member that needs a password
            raise ImageSourceError(ERROR_ENCRYPTED_MEMBER.format(path=path)) from exc
        if len(data) > self.max_bytes:
            raise ImageSourceError(ERROR_TOO_LARGE.format(path=path, limit=self.max_bytes))
        if data.startswith(ARCHIVE_SIGNATURES):
            raise ImageSourceError(ERROR_NESTED_ARCHIVE.format(path=path))
        return data

    def close(self) -> None:
        self._zip.close()
