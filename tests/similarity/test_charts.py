"""Server-side SVG charts: every series is in the markup, and matplotlib loads only on use."""

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from similarity import charts

ROOT = Path(__file__).resolve().parents[2]
HISTORY = [
    {"epoch": 1, "loss": 2.0, "val_recall_at_1": 0.5},
    {"epoch": 2, "loss": 1.5, "val_recall_at_1": None},
    {"epoch": 3, "loss": 1.2, "val_recall_at_1": 0.7},
]


def elements_by_id(svg: str) -> dict[str, ET.Element]:
    return {el.get("id"): el for el in ET.fromstring(svg).iter() if el.get("id")}


def points(group: ET.Element) -> int:
    return sum(1 for el in group.iter() if el.tag.endswith("}use"))


def test_recall_bars_draw_one_bar_per_row_and_metric():
    rows = [("v2 (this version)", {"recall_at_1": 0.9}), ("colour histogram", {})]

    svg = charts.recall_bars_svg(rows=rows)

    assert svg.startswith("<svg")
    bars = sorted(name for name in elements_by_id(svg) if name.startswith("bar-"))
    assert bars == [
        f"bar-{row}-recall_at_{k}" for row in (0, 1) for k in (1, 10, 5)
    ]  # sorted as strings
    assert "v2 (this version)" in svg and "colour histogram" in svg


def test_training_curves_plot_every_epoch_and_each_validated_one():
    svg = charts.training_curves_svg(series={"v2": HISTORY, "v1 (active)": HISTORY[:2]})

    groups = elements_by_id(svg)
    assert [points(groups[f"curve-loss-{n}"]) for n in (0, 1)] == [3, 2]
    assert [points(groups[f"curve-recall-{n}"]) for n in (0, 1)] == [2, 1]


def test_the_same_data_gives_the_same_markup():
    rows = [("v1", {"recall_at_1": 0.5, "recall_at_5": 0.7, "recall_at_10": 0.8})]
    assert charts.recall_bars_svg(rows=rows) == charts.recall_bars_svg(rows=rows)


def test_django_start_up_and_the_admin_do_not_import_matplotlib():
    probe = (
        "import sys, django; django.setup(); from django.contrib import admin; "
        "import prodsim_site.urls, similarity.admin, similarity.charts; admin.autodiscover(); "
        "print('matplotlib' in sys.modules)"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "prodsim_site.settings"}
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, env=env
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False"
