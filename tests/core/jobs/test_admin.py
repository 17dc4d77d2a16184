"""The live job page's values render as static/js/job_progress.js writes them, every job
admin uses the one page, and the cockpit's own admin URLs find their row as Django's do."""

import pytest
from django.test import Client

from catalog.admin import ImportJobAdmin
from core.jobs.admin import LiveField, LiveJobAdminMixin, LiveRow
from similarity.admin.jobs import JobAdmin


@pytest.mark.parametrize(
    ("field", "value", "text"),
    [
        (LiveField("state"), "running", "running"),
        (LiveField("rows_done"), 0, "0"),
        (LiveField("rows_per_s"), None, "–"),
        (LiveField("error"), "", "–"),
        (LiveField("loss", "fixed3"), 1.5, "1.500"),
        (LiveField("loss", "fixed3"), None, "–"),
        (LiveField("eta_s", "duration"), 12, "12 s"),
    ],
)
def test_a_value_renders_as_the_script_writes_it(field, value, text):
    assert field.text(value) == text


def test_a_row_renders_each_of_its_values_in_order():
    row = LiveRow("Rows", "rows_done", LiveField("eta_s", "duration"))

    assert row.render({"rows_done": 3, "eta_s": 9}) == {
        "label": "Rows",
        "cells": [
            {"key": "rows_done", "format": "", "text": "3"},
            {"key": "eta_s", "format": "duration", "text": "9 s"},
        ],
    }


def test_every_job_admin_uses_the_one_live_page():
    for admin_class in (ImportJobAdmin, JobAdmin):
        assert issubclass(admin_class, LiveJobAdminMixin)
        assert admin_class.change_form_template == "admin/core/job_change_form.html"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/admin/catalog/importjob/abc/progress/"),
        ("post", "/admin/catalog/importjob/abc/cancel/"),
        ("get", "/admin/catalog/importjob/abc/problems.csv"),
        ("get", "/admin/similarity/job/abc/progress/"),
        ("post", "/admin/similarity/job/abc/cancel/"),
        ("get", "/admin/behaviour/sequencetrainingjob/abc/progress/"),
        ("post", "/admin/similarity/modelversion/abc/activate/"),
    ],
)
def test_an_id_that_is_not_a_number_is_a_404_as_on_the_change_page(admin_user, method, url):
    client = Client(raise_request_exception=False)  # a 500 must show as a 500, not raise
    client.force_login(admin_user)

    assert getattr(client, method)(url).status_code == 404
