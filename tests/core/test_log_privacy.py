"""Shopper ids in request paths never reach a log: Django's request warnings, gunicorn's logs."""

import datetime
import io
import logging
from types import SimpleNamespace

import pytest
from gunicorn.config import Config

from core.log_privacy import MaskVisitorIds, mask_visitor_ids
from prodsim_site.gunicorn_logging import MaskingLogger

RAW_ID = "alice@example.com"


def test_only_the_visitor_segment_of_a_path_is_masked():
    assert mask_visitor_ids(f"GET /api/v1/visitors/{RAW_ID}/export/?k=3 HTTP/1.1") == (
        "GET /api/v1/visitors/<visitor>/export/?k=3 HTTP/1.1"
    )
    assert mask_visitor_ids("/api/v1/products/A1/similar/") == "/api/v1/products/A1/similar/"


@pytest.mark.parametrize(
    "sent", ["/api/v1/%76isitors/", "/api/v1%2Fvisitors%2f", "/api/v1/%76%69%73%69%74%6F%72%73/"]
)
def test_an_encoded_visitors_segment_is_masked_in_the_request_line(sent):
    """The server decodes the path before routing, so these reach the visitor's export; the
    access log writes the request line as sent."""
    line = f"GET {sent}{RAW_ID}/export/ HTTP/1.1"

    assert RAW_ID not in mask_visitor_ids(line)
    assert mask_visitor_ids(line) == f"GET {sent}<visitor>/export/ HTTP/1.1"


def test_an_id_with_spaces_or_quotes_is_masked_whole():
    # Django logs the decoded path: "Not Found: /api/v1/visitors/jane doe@example.com/nope/".
    # An unknown suffix may be the rest of an id holding "/": it is masked with the id.
    for raw in ("jane doe@example.com", 'o\'brien "x"', "cust?secret4711", "a#b"):
        assert mask_visitor_ids(f"Not Found: /api/v1/visitors/{raw}/nope/") == (
            "Not Found: /api/v1/visitors/<visitor>/"
        )
        assert mask_visitor_ids(f"Not Found: /api/v1/visitors/{raw}/export/") == (
            "Not Found: /api/v1/visitors/<visitor>/export/"
        )


@pytest.mark.parametrize("raw", ["ACME/1234-5678", "ACME%2F1234-5678", "A/B/C 1/2"])
def test_an_id_holding_a_slash_is_masked_whole_in_djangos_request_log(partner_client, caplog, raw):
    """Refused ids with "/" still get a 404, logged with the decoded path."""
    with caplog.at_level(logging.WARNING, logger="django.request"):
        partner_client.get(f"/api/v1/visitors/{raw}/export/")
        partner_client.get(f"/api/v1/visitors/{raw}/recommendations/?k=2")
        partner_client.delete(f"/api/v1/visitors/{raw}/")
    logged = []
    for logged_record in caplog.records:
        MaskVisitorIds().filter(logged_record)
        logged.append(logged_record.getMessage())

    assert len(logged) == 3
    assert not any(part in line for line in logged for part in ("1234-5678", "B/C", "1/2")), logged
    assert "Not Found: /api/v1/visitors/<visitor>/export/" in logged


@pytest.mark.parametrize("sent", ["/api/v1/Visitors/", "/api/v1/VISITORS/", "/api/v1/%56isitors/"])
def test_a_visitors_segment_in_any_case_is_masked(partner_client, caplog, sent):
    """Routes are case-sensitive: a mis-cased path is a 404, which Django logs (decoded) and
    gunicorn too (as sent)."""
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert partner_client.get(f"{sent}{RAW_ID}/export/").status_code == 404
    for logged_record in caplog.records:
        MaskVisitorIds().filter(logged_record)

    assert caplog.records and not any(RAW_ID in r.getMessage() for r in caplog.records)
    assert RAW_ID not in mask_visitor_ids(f"GET {sent}{RAW_ID}/export/ HTTP/1.1")


def test_an_access_log_line_masks_an_id_holding_a_slash_up_to_the_protocol():
    line = '"DELETE /api/v1/visitors/ACME/1234-5678/ HTTP/1.1" 404 23'
    assert mask_visitor_ids(line) == '"DELETE /api/v1/visitors/<visitor>/ HTTP/1.1" 404 23'


@pytest.mark.django_db
def test_a_refused_request_is_logged_without_the_visitor_id(client):
    console = next(
        handler
        for handler in logging.getLogger().handlers
        if any(isinstance(f, MaskVisitorIds) for f in handler.filters)
    )
    written = io.StringIO()
    previous = console.setStream(written)
    try:
        status = client.get(f"/api/v1/visitors/{RAW_ID}/export/").status_code
    finally:
        console.setStream(previous)

    assert status in (401, 403)  # django.request warns with the path
    assert "/api/v1/visitors/<visitor>/export/" in written.getvalue()
    assert RAW_ID not in written.getvalue()


def record(message: str, *args, exc_info=None) -> logging.LogRecord:
    return logging.LogRecord("x", logging.ERROR, __file__, 1, message, args, exc_info)


def test_a_traceback_is_masked_and_a_bad_log_call_is_left_to_logging():
    try:
        raise ValueError(f"no such page /api/v1/visitors/{RAW_ID}/")
    except ValueError:
        import sys

        failed = record("Error handling %s", "/api/v1/visitors/bob/", exc_info=sys.exc_info())
    bad = record("%d items", "not a number")

    assert MaskVisitorIds().filter(failed) and MaskVisitorIds().filter(bad)
    written = logging.Formatter().format(failed)
    assert "Error handling /api/v1/visitors/<visitor>/" in written
    assert "ValueError: no such page /api/v1/visitors/<visitor>/" in written
    assert RAW_ID not in written and "bob" not in written
    assert bad.msg == "%d items"  # untouched: the handler's format raises, logging reports it


@pytest.mark.django_db
def test_with_debug_on_djangos_own_handlers_do_not_write_the_id(client, settings):
    settings.DEBUG = True  # Django's console handler writes only then
    written = io.StringIO()
    streams = {  # each handler once: the console sits on more than one logger
        handler
        for name in ("", "django", "django.request")
        for handler in logging.getLogger(name).handlers
        if isinstance(handler, logging.StreamHandler)
    }
    previous = [handler.setStream(written) for handler in streams]
    try:
        client.get(f"/api/v1/visitors/{RAW_ID}/export/")
    finally:
        for handler, stream in zip(streams, previous, strict=True):
            handler.setStream(stream)

    assert "/api/v1/visitors/<visitor>/export/" in written.getvalue()
    assert RAW_ID not in written.getvalue()


def test_gunicorns_access_log_masks_the_visitor_id(tmp_path):
    config = Config()
    config.set("accesslog", str(tmp_path / "access.log"))
    logger = MaskingLogger(config)
    path = f"/api/v1/visitors/{RAW_ID}/recommendations/"
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": f"{path}?k=5",
        "PATH_INFO": path,
        "QUERY_STRING": "k=5",
        "SERVER_PROTOCOL": "HTTP/1.1",
    }
    response = SimpleNamespace(status="200 OK", headers=[], sent=10)

    logger.access(response, SimpleNamespace(headers=[]), environ, datetime.timedelta(0, 0, 900))

    logged = (tmp_path / "access.log").read_text()
    assert '"GET /api/v1/visitors/<visitor>/recommendations/?k=5 HTTP/1.1" 200' in logged
    assert RAW_ID not in logged
