"""The live job page for screen readers: the heartbeat warning is an alert, the finished note a
status, and a polite live summary says when the state or phase changes (static/js/
job_progress.js), not the counts that change with every poll; focus never moves."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from django.urls import reverse

from catalog.models import ImportJob
from similarity.models import Job, ModelVersion
from tests.html_check import Page

ROOT = Path(__file__).resolve().parents[3]
HARNESS = Path(__file__).with_name("job_progress_harness.js")


def training_job() -> Job:
    version = ModelVersion.objects.create(
        backbone="small_cnn", weights="none", input_size=32, embedding_dim=8, status="training"
    )
    progress = {"phase": "training", "epoch": 2, "epochs": 5, "loss": 1.5}
    return Job.objects.create(
        kind="train", model_version=version, state="running", progress=progress
    )


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["training", "import"])
def test_the_live_panel_has_an_alert_a_status_and_a_polite_summary(admin_client, kind):
    if kind == "training":
        url = reverse("admin:similarity_job_change", args=[training_job().pk])
    else:
        job = ImportJob.objects.create(state="running", rows_total=100, rows_done=40)
        url = reverse("admin:catalog_importjob_change", args=[job.pk])
    page = Page(admin_client.get(url).content.decode())

    panel = page.by_id("live-progress")
    assert page.by_id("heartbeat-warning").get("role") == "alert"
    (finished,) = [e for e in page.elements if "data-progress-show-when-finished" in e.attrs]
    assert finished.get("role") == "status"
    summary = page.by_id("live-progress-summary")
    assert (summary.get("aria-live"), summary.get("class"), summary.text) == (
        "polite", "visually-hidden", ""
    )  # fmt: skip
    assert panel in summary.ancestors
    phase = "training" if kind == "training" else ""
    assert (panel.get("data-state"), panel.get("data-phase")) == ("running", phase)


def poll(**values) -> dict:
    return {"state": "running", "phase": "training", "finished": False, "heartbeat_warning": ""} | (
        values
    )


@pytest.mark.skipif(not shutil.which("node"), reason="node is not installed")
def test_the_script_announces_only_a_new_state_or_phase_and_never_moves_focus():
    answers = [
        poll(epoch=2),  # as rendered: nothing to say
        poll(epoch=3, heartbeat_warning="no heartbeat for 90 s"),
        poll(epoch=3, heartbeat_warning="no heartbeat for 90 s"),  # the same words again
        poll(phase="exporting", epoch=3),
        poll(state="succeeded", phase="done", finished=True),
    ]
    result = subprocess.run(
        ["node", str(HARNESS), str(ROOT / "static/js/job_progress.js"), json.dumps(answers)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr  # the harness throws if focus moves

    told = json.loads(result.stdout)
    assert [(t["summary"], t["summary_writes"]) for t in told] == [
        ("", 0),
        ("", 0),
        ("", 0),
        ("Job running: exporting.", 1),
        ("Job succeeded: done.", 2),
    ]
    assert [(t["warning_writes"], t["warning_hidden"]) for t in told] == [
        (1, True),  # "–" while hidden: not read
        (2, False),
        (2, False),  # the same words not rewritten: an alert rewritten is read out again
        (3, True),
        (3, True),
    ]
    assert [t["finished_hidden"] for t in told] == [True] * 4 + [False]
