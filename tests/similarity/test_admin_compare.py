"""A model version's admin page: figures next to the active version and the baselines."""

import re
import xml.etree.ElementTree as ET

import pytest
from django.urls import reverse

from similarity.models import ModelVersion

pytestmark = pytest.mark.django_db

HISTORY = [
    {"epoch": 1, "loss": 2.0, "val_recall_at_1": 0.6},
    {"epoch": 2, "loss": 1.4, "val_recall_at_1": 0.7},
    {"epoch": 3, "loss": 1.1, "val_recall_at_1": 0.8},
]


def version(status: str, recall: float, **fields) -> ModelVersion:
    return ModelVersion.objects.create(
        backbone="small_cnn",
        weights="none",
        input_size=32,
        embedding_dim=8,
        status=status,
        metrics={"model": {"recall_at_1": recall, "recall_at_5": 0.95}, **fields.pop("extra", {})},
        **fields,
    )


def charts(page: str) -> list[ET.Element]:
    """The inline SVG charts (the admin's own icons are SVG too); each figure also holds its
    caption, and the curves' a table."""
    chunks = page.split('<figure class="prodsim-chart">')[1:]
    figures = [chunk.split("</figure>")[0] for chunk in chunks]
    return [ET.fromstring(re.search(r"<svg .*</svg>", f, re.DOTALL).group()) for f in figures]


def ids(svg: ET.Element) -> dict[str, ET.Element]:
    return {el.get("id"): el for el in svg.iter() if el.get("id")}


def test_version_page_compares_with_the_active_version_and_the_baselines(admin_client):
    active = version("active", 0.8, history=HISTORY[:2], dataset={"sha256": "a" * 64})
    candidate = version(
        "ready",
        0.9,
        history=HISTORY,
        extra={"colour_histogram": {"recall_at_1": 0.4}, "random_init": {"recall_at_1": 0.1}},
        params={"epochs": 3},
        dataset={"images": {"train": 70, "val": 10, "test": 20}, "labels": 12, "sha256": "b" * 64},
        timings={"train_s": 12.5, "embed_s": 3.0},
    )

    url = reverse("admin:similarity_modelversion_change", args=[candidate.pk])
    page = admin_client.get(url).content.decode()

    assert (
        f'<tr class="compare-this"><th>v{candidate.pk} (this version)</th>'
        "<td>0.900</td><td>0.950</td><td>–</td>" in page
    )
    assert f'<tr class="compare-active"><th>v{active.pk} (active)</th><td>0.800</td>' in page
    assert '<tr class="compare-baseline"><th>colour histogram</th><td>0.400</td>' in page
    assert '<tr class="compare-baseline"><th>random init</th><td>0.100</td>' in page
    assert "<tr><th>param epochs</th><td>3</td><td>–</td></tr>" in page
    assert "<tr><th>time total</th><td>15.5 s</td><td>–</td></tr>" in page
    assert "70/10/20 images (train/val/test), 12 labels, sha256 bbbbbbbbbbbb" in page
    bars, curves = charts(page)
    assert sorted(i for i in ids(bars) if i.startswith("bar-")) == sorted(
        f"bar-{row}-recall_at_{k}" for row in range(4) for k in (1, 5, 10)
    )  # this version, active, two baselines
    curve_points = {
        name: sum(1 for el in group.iter() if el.tag.endswith("}use"))
        for name, group in ids(curves).items()
        if name.startswith("curve-")
    }
    assert curve_points == {
        "curve-loss-0": 3,
        "curve-recall-0": 3,
        "curve-loss-1": 2,
        "curve-recall-1": 2,
    }
    preview = reverse("similarity_admin:preview") + f"?candidate={candidate.pk}"
    assert f'href="{preview}"' in page


def test_the_active_version_page_has_no_other_active_row(admin_client):
    active = version("active", 0.8, history=HISTORY)

    page = admin_client.get(
        reverse("admin:similarity_modelversion_change", args=[active.pk])
    ).content.decode()

    assert f'<tr class="compare-this"><th>v{active.pk} (active)</th>' in page
    assert "compare-active" not in page
    assert "No other version is active" in page


def test_an_untrained_version_page_renders_without_charts(admin_client):
    queued = ModelVersion.objects.create(
        backbone="small_cnn", weights="none", input_size=32, embedding_dim=8
    )

    page = admin_client.get(
        reverse("admin:similarity_modelversion_change", args=[queued.pk])
    ).content.decode()

    assert charts(page) == []
    assert "No training epochs recorded." in page
    assert "– (scored once the version is ready)" in page


@pytest.mark.parametrize(
    "error,why",
    [("cancelled by an admin", "its training was cancelled"), ("out of memory", "training failed")],
)
def test_a_failed_or_cancelled_version_is_not_promised_a_score_or_an_activation(
    admin_client, error, why
):
    failed = version("failed", 0.0, error=error)

    page = admin_client.get(
        reverse("admin:similarity_modelversion_change", args=[failed.pk])
    ).content.decode()

    assert "once the version is ready" not in page and "once it is ready" not in page
    assert page.count(f"– (never scored: {why}, so it has no model)") == 2  # both gold sections
    assert f"failed: {why}, so it can never be activated." in page
