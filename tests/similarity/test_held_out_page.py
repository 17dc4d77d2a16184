"""The version page's held-out section says whose figures each protocol's table holds."""

import pytest

from similarity.admin.held_out import NOTE_REFIT, NOTE_SELECTION, NOTE_SERVED, held_out_html
from similarity.ml.evaluation.protocols import KNOWN_PRODUCTS, NEW_PRODUCTS
from similarity.services.protocols import version_metrics

ROWS = {"model": {"recall_at_1": 0.8, "queries": 12}, "random_init": {"recall_at_1": 0.1}}
RESULTS = {KNOWN_PRODUCTS: ROWS, NEW_PRODUCTS: ROWS}
KNOWN = "known products, new photos"
NEW = "new products (group-disjoint)"


@pytest.mark.parametrize(
    ("metrics", "note", "headings"),
    [
        (
            version_metrics(RESULTS, KNOWN_PRODUCTS, refit=False),
            NOTE_SERVED,
            [f"{KNOWN} (served model)", f"{NEW} (served model)"],
        ),
        (
            version_metrics(RESULTS, KNOWN_PRODUCTS, refit=True, served=(KNOWN_PRODUCTS,)),
            NOTE_REFIT,
            [f"{KNOWN} (refit without the query photos)", f"{NEW} (selection run)"],
        ),
        (
            version_metrics(RESULTS, NEW_PRODUCTS, refit=True),
            NOTE_SELECTION,
            [f"{NEW} (selection run)", f"{KNOWN} (selection run)"],
        ),
    ],
    ids=["not refit", "refit", "refit on every photo"],
)
def test_each_protocol_is_labelled_with_the_run_its_figures_are_of(metrics, note, headings):
    page = held_out_html(metrics)

    assert page.startswith(f"<p>{note}</p>")
    shown = [part.split("</h4>")[0] for part in page.split("<h4>")[1:]]
    # The deciding protocol first, marked.
    assert shown == [f"{headings[0]} — decides early stopping and auto-activation", headings[1]]


def test_a_version_refit_before_the_list_existed_shows_the_selection_run_everywhere():
    metrics = version_metrics(RESULTS, KNOWN_PRODUCTS, refit=True)
    del metrics["evaluation"]["served_protocols"]

    page = held_out_html(metrics)

    assert page.startswith(f"<p>{NOTE_SELECTION}</p>")
    assert "(served model)" not in page and "(refit without" not in page


def test_a_protocol_without_a_figure_says_why():
    # A plain shop: one photo per product, no groups or categories; nothing has a positive.
    why = "none of its 4 held-out photos has another photo of its label to find"
    metrics = version_metrics(
        {}, KNOWN_PRODUCTS, refit=False, unmeasured={KNOWN_PRODUCTS: why, NEW_PRODUCTS: why}
    )

    page = held_out_html(metrics)

    assert page.count("No figure: none of its 4 held-out photos") == 2
    assert f"<h4>{KNOWN}</h4>" in page and f"<h4>{NEW}</h4>" in page
