"""The upload handler's caps: a file over the image cap is refused while it streams in, except
on a page whose form says why it refuses it, where the form gets the file's size alone."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import RequestDataTooBig
from django.test import RequestFactory
from django.urls import reverse

from core.uploads import UploadLimitsHandler
from tests.staff import staff_user

pytestmark = pytest.mark.django_db

GOLD_PHOTO_ADD = reverse("admin:similarity_goldphoto_add")
EVENT_IMPORT_ADD = reverse("admin:behaviour_eventimportjob_add")


def handler_for(path: str, user) -> UploadLimitsHandler:
    request = RequestFactory().post(path)
    request.user = user
    handler = UploadLimitsHandler(request)
    request.upload_handlers = [handler]
    handler.new_file("photo", "shot.jpg", "image/jpeg", None)
    return handler


def test_on_the_gold_photo_page_staff_get_the_files_size_for_the_form(settings):
    settings.PRODSIM_MAX_IMAGE_BYTES = 1000
    handler = handler_for(GOLD_PHOTO_ADD, staff_user())

    kept = handler.receive_data_chunk(b"x" * 800, 0)
    dropped = handler.receive_data_chunk(b"x" * 800, 800)
    upload = handler.file_complete(1600)

    assert (len(kept), dropped) == (800, None)
    assert (upload.name, upload.size, upload.read()) == ("shot.jpg", 1600, b"")


@pytest.mark.parametrize(
    "path,user",
    [(GOLD_PHOTO_ADD, "anonymous"), ("/search/photo/", "staff")],
)
def test_anyone_else_or_any_other_page_is_refused_while_the_file_streams_in(settings, path, user):
    settings.PRODSIM_MAX_IMAGE_BYTES = 1000
    handler = handler_for(path, staff_user() if user == "staff" else AnonymousUser())

    with pytest.raises(RequestDataTooBig):
        handler.receive_data_chunk(b"x" * 1600, 0)


def test_on_the_event_import_page_a_csv_over_the_csv_cap_reaches_the_form_as_its_size(settings):
    # Its cap was the archive cap (2 GB): a CSV over PRODSIM_MAX_CSV_BYTES was stored whole.
    settings.PRODSIM_MAX_CSV_BYTES, settings.PRODSIM_MAX_ARCHIVE_BYTES = 1000, 10_000
    handler = handler_for(EVENT_IMPORT_ADD, staff_user())

    kept = handler.receive_data_chunk(b"x" * 800, 0)
    dropped = handler.receive_data_chunk(b"x" * 800, 800)

    assert (len(kept), dropped, handler.file_complete(1600).size) == (800, None, 1600)
