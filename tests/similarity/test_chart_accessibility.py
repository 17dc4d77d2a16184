"""The admin's inline SVG charts for screen readers and valid pages: each is an image named by its
figure's caption, the training curves come with their figures as a table, and two charts on one
page never share an id (matplotlib numbers its ids afresh in every figure)."""

import re

import pytest
from django.urls import reverse

from behaviour.models import SequenceModelVersion
from similarity import charts
from similarity.models import ModelVersion
from tests.html_check import Page, norm

pytestmark = pytest.mark.django_db

HISTORY = [
    {"epoch": 1, "loss": 2.0, "val_recall_at_1": 0.6},
    {"epoch": 2, "loss": 1.4, "val_recall_at_1": None},
    {"epoch": 3, "loss": 1.1, "val_recall_at_1": 0.8},
]
SEQUENCE_HISTORY = [
    {"epoch": 1, "loss": 2.5, "recall": 0.21},
    {"epoch": 2, "loss": 2.125, "recall": 0.27},
]
REFERENCE = re.compile(r'(?:\bhref="#|url\(#)([^")]+)')


def version(status: str, recall: float, **fields) -> ModelVersion:
    metrics = {"model": {"recall_at_1": recall, "recall_at_5": 0.95}}
    return ModelVersion.objects.create(
        backbone="small_cnn", weights="none", input_size=32, embedding_dim=8, status=status,
        metrics=metrics, **fields,
    )  # fmt: skip


def get(admin_client, url: str) -> tuple[Page, str]:
    response = admin_client.get(url)
    assert response.status_code == 200
    return Page(response.content.decode()), response.content.decode()


@pytest.fixture
def version_page(admin_client) -> tuple[Page, str]:
    """A ready version's page next to the active one: the bars and the curves of both."""
    version("active", 0.8, history=HISTORY[:2])
    candidate = version("ready", 0.9, history=HISTORY)
    return get(admin_client, reverse("admin:similarity_modelversion_change", args=[candidate.pk]))


@pytest.fixture
def sequence_page(admin_client) -> tuple[Page, str]:
    ready = SequenceModelVersion.objects.create(
        architecture="gru", status="ready", history=SEQUENCE_HISTORY, params={"k": 20}
    )
    url = reverse("admin:behaviour_sequencemodelversion_change", args=[ready.pk])
    return get(admin_client, url)


def chart_names(page: Page) -> dict[str, str]:
    """Each chart's <svg> aria-labelledby → the text of its figure's caption."""
    captions = {e.get("id"): norm(e.text) for e in page.find("figcaption")}
    named = {}
    for svg in page.find("svg", role="img"):
        (figure,) = [a for a in svg.ancestors if a.tag == "figure"]
        (caption,) = [e for e in page.find("figcaption") if figure in e.ancestors]
        assert svg.get("aria-labelledby") == caption.get("id")
        named[caption.get("id")] = captions[caption.get("id")]
    return named


def test_the_version_pages_charts_are_images_named_by_their_captions(version_page):
    page, _ = version_page

    assert chart_names(page) == {
        "bar-caption": "Held-out Recall@1, @5 and @10 of each row of the table above",
        "curve-caption": "Training loss and validation Recall@1 per epoch",
    }


def test_the_training_curves_figures_are_a_table_too(version_page):
    page, _ = version_page

    (details,) = page.find("details")
    assert details.inside("figure")
    rows = [
        [norm(cell.text) for cell in page.elements if cell.tag == "td" and row in cell.ancestors]
        for row in page.find("tr")
        if details in row.ancestors and row.inside("tbody")
    ]
    this, active = (label for label in dict.fromkeys(r[0] for r in rows))
    assert [r[1:] for r in rows] == [
        ["1", "2.000", "0.600"],
        ["2", "1.400", "–"],
        ["3", "1.100", "0.800"],
        ["1", "2.000", "0.600"],
        ["2", "1.400", "–"],
    ]
    assert "(this version)" in this and "(active)" in active


def test_two_charts_on_one_page_share_no_id_and_each_refers_only_to_its_own(version_page):
    page, html = version_page

    assert page.duplicate_ids() == [] and page.dangling_references() == []
    svgs = re.findall(r"<svg role=.*?</svg>", html, re.DOTALL)
    for svg, prefix in zip(svgs, ("bar", "curve"), strict=True):
        ids = set(re.findall(r'\bid="([^"]+)"', svg))
        assert ids and all(id_.startswith((f"{prefix}-", f"{prefix}_")) for id_ in ids)
        assert set(REFERENCE.findall(svg)) <= ids


def test_the_sequence_versions_curves_are_named_with_their_figures_as_a_table(sequence_page):
    page, html = sequence_page

    label = f"v{SequenceModelVersion.objects.get().pk}"
    assert chart_names(page) == {
        "seq-caption": f"Training loss and validation Recall@20 of {label} per epoch"
    }
    (details,) = page.find("details")
    cells = [norm(td.text) for td in page.find("td") if details in td.ancestors]
    assert cells == ["1", "2.500", "0.210", "2", "2.125", "0.270"]
    assert page.duplicate_ids() == [] and page.dangling_references() == []
    (svg,) = re.findall(r"<svg role=.*?</svg>", html, re.DOTALL)
    assert set(REFERENCE.findall(svg)) <= set(re.findall(r'\bid="(seq_[^"]+)"', svg))


def test_a_charts_ids_start_with_its_prefix_and_its_series_keep_their_names():
    svg = charts.training_curves_svg(series={"v2": HISTORY}, gid_prefix="seq")

    ids = re.findall(r'\bid="([^"]+)"', svg)
    assert [id_ for id_ in ids if not id_.startswith(("seq-", "seq_"))] == []
    assert sorted(id_ for id_ in ids if id_.startswith("seq-")) == ["seq-loss-0", "seq-recall-0"]
    assert "seq_axes_1" in ids  # matplotlib's own
    assert set(REFERENCE.findall(svg)) <= set(ids)
    assert svg.startswith('<svg role="img" aria-labelledby="seq-caption" ')
