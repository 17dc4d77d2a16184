"""Upload caps enforced while the bytes arrive, before any file is decoded or fully stored.

Django's own limits cover form fields (DATA_UPLOAD_MAX_MEMORY_SIZE, ..._NUMBER_FIELDS/FILES)
but not files: without this handler a 10 GB "image" is streamed to a temporary file in full
before a view can refuse it.
"""

import io

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.files.uploadedfile import InMemoryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from django.urls import NoReverseMatch, reverse

ERROR_REQUEST_TOO_LARGE = "the request body is larger than {limit} bytes"
ERROR_FILE_TOO_LARGE = "the uploaded file {name!r} is larger than {limit} bytes"
# The admin pages that take a catalogue's CSV and images archive, or an event history's CSV.
CATALOGUE_IMPORT_VIEW = "admin:catalog_importjob_add"
EVENT_IMPORT_VIEW = "admin:behaviour_eventimportjob_add"
IMPORT_UPLOAD_VIEWS = (CATALOGUE_IMPORT_VIEW, EVENT_IMPORT_VIEW)
# The admin pages whose form refuses a file over its cap with its own message (the gold photo
# upload, the event CSV): for staff, a file over the cap reaches the form as its size alone, its
# bytes past the cap read and dropped (the request cap still bounds them).
FORM_SIZED_UPLOAD_VIEWS = ("admin:similarity_goldphoto_add", EVENT_IMPORT_VIEW)
# A product PUT carries at most 10 images (catalog.api.serializers.MAX_IMAGES) plus small fields.
IMAGES_PER_REQUEST = 10


def upload_caps(request) -> tuple[int, int]:
    """(per-file, per-request) byte caps: an import's files for active staff on the import
    pages (an event history is one CSV: the CSV cap), images everywhere else. The body is read
    before any view checks who sends it (the CSRF check, the sign-in throttle), so the large cap
    needs a signed-in staff user: anyone else posting to the admin, its sign-in page included,
    gets the image cap."""
    image, csv = settings.PRODSIM_MAX_IMAGE_BYTES, settings.PRODSIM_MAX_CSV_BYTES
    archive, fields = settings.PRODSIM_MAX_ARCHIVE_BYTES, settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if request is not None and _staff_on(request, IMPORT_UPLOAD_VIEWS):
        largest = csv if _staff_on(request, (EVENT_IMPORT_VIEW,)) else max(csv, archive, image)
        return largest, csv + archive + fields
    return image, IMAGES_PER_REQUEST * image + fields


def _staff_on(request, view_names: tuple[str, ...]) -> bool:
    user = getattr(request, "user", None)  # None before the authentication middleware
    if user is None or not (user.is_active and user.is_staff):
        return False
    try:
        return request.path in {reverse(name) for name in view_names}
    except NoReverseMatch:  # a project without the admin or one of the apps
        return False


def oversized_upload(handler: FileUploadHandler, size: int) -> InMemoryUploadedFile:
    """What a form-sized page's form receives for a file over the cap: its name, type and full
    size, no content (the form refuses it by its size before reading)."""
    return InMemoryUploadedFile(
        io.BytesIO(),
        handler.field_name,
        handler.file_name,
        handler.content_type,
        size,
        handler.charset,
        handler.content_type_extra,
    )


class UploadLimitsHandler(FileUploadHandler):
    """First of FILE_UPLOAD_HANDLERS: counts each file's bytes and the declared body size.

    Raises RequestDataTooBig (a SuspiciousOperation): Django answers 400, the partner API's error
    handler answers 400 with its JSON error shape. The multipart parser closes (and so deletes)
    the files it had started. On FORM_SIZED_UPLOAD_VIEWS, for staff, a file over the cap becomes
    `oversized_upload` instead, so that the page's form says why it refuses it.
    """

    def __init__(self, request=None):
        super().__init__(request)
        self.per_file, self.per_request = upload_caps(request)
        self.form_sized = request is not None and _staff_on(request, FORM_SIZED_UPLOAD_VIEWS)
        self.oversized = False

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.oversized = False

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length > self.per_request:
            raise RequestDataTooBig(ERROR_REQUEST_TOO_LARGE.format(limit=self.per_request))

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) <= self.per_file:
            return raw_data
        if not self.oversized:
            self._interrupt_others()
        if not self.form_sized:
            raise RequestDataTooBig(
                ERROR_FILE_TOO_LARGE.format(name=self.file_name, limit=self.per_file)
            )
        self.oversized = True
        return None  # the next handlers get no more of it

    def _interrupt_others(self) -> None:
        # The parser closes the files it finished, not the one in progress: without this the
        # temporary file already opened for the refused upload would outlive the request.
        for handler in self.request.upload_handlers:
            if handler is not self:
                handler.upload_interrupted()

    def file_complete(self, file_size):
        if self.oversized:
            return oversized_upload(self, file_size)
        return None  # the next handler stores the file
