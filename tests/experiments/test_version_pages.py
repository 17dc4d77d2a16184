"""A model version's admin page shows the online evidence of the experiments it took part in:
per arm impressions, clicks, CTR with its 95 % Wilson interval, and the difference interval.

The expected figures were computed by hand from Wilson's and Newcombe's formulas (see
experiments/stats.py), not by calling the code under test.
"""

from experiments import services
from experiments.admin_html import VERDICT_BETTER, VERDICT_TOO_EARLY
from experiments.admin_versions import NO_EXPERIMENTS
from experiments.models import Experiment
from experiments.selectors import version_experiments
from experiments.stats import MIN_EFFECTIVE_SHOPPERS
from tests.similarity.vector_store.factories import version

from .factories import impressions, running


def evidence(admin_client, v) -> str:
    """The version page's online-evidence field, up to the next field."""
    page = admin_client.get(f"/admin/similarity/modelversion/{v.pk}/change/").content.decode()
    start = page.index("field-online_evidence")
    return page[start : page.index("field-history", start)]


def two_experiments(shop):
    """An older, stopped test of `other` against the active version, and a running one of the
    shop's candidate; the active version served the control arm of both."""
    other = version(2, status="ready")
    older = running(other, 55, name="older test")  # its arms below hold the share: no mismatch
    impressions(older, other, "candidate", 100, [1] * 5)  # 5 clicked of 100
    impressions(older, shop.active, "control", 80, [1] * 4)  # 4 clicked of 80
    services.experiment_stop(experiment=older)
    newer = running(shop.candidate, 50)
    impressions(newer, shop.candidate, "candidate", 200, [1] * 30 + [2] * 6)  # 42 clicks; 36
    impressions(newer, shop.active, "control", 250, [1] * 20 + [3] * 2)  # 26 clicks, 22 clicked
    impressions(newer, shop.active, "control", 40, [1] * 40, widget="recommended")  # not counted
    impressions(None, shop.active, "", 70, [1] * 70)  # outside any experiment
    return other, older, newer


def test_the_candidates_page_shows_its_experiment_with_intervals(admin_client, shop):
    _, _, newer = two_experiments(shop)

    html = evidence(admin_client, shop.candidate)

    assert f'<a href="/admin/experiments/experiment/{newer.pk}/change/">frames first</a>' in html
    assert f"50 % of sessions to v{shop.candidate.pk} · this version: candidate</h4>" in html
    assert "<td>200</td><td>42</td><td>36</td><td>18.00 [13.29, 23.91]</td>" in html
    assert "<td>250</td><td>26</td><td>22</td><td>8.80 [5.88, 12.96]</td>" in html
    assert "<td>+9.20 [+2.92, +15.79]</td>" in html
    assert VERDICT_BETTER.replace("'", "&#x27;") in html
    assert "older test" not in html


def test_the_active_versions_page_lists_the_experiments_where_it_served_control(admin_client, shop):
    other, older, newer = two_experiments(shop)

    html = evidence(admin_client, shop.active)

    assert html.index("frames first") < html.index("older test")  # newest first
    assert html.count("this version: control</h4>") == 2
    assert f"55 % of sessions to v{other.pk} · this version: control" in html
    assert "<td>100</td><td>5</td><td>5</td><td>5.00 [2.15, 11.18]</td>" in html
    assert "<td>80</td><td>4</td><td>4</td><td>5.00 [1.96, 12.16]</td>" in html
    assert "<td>+0.00 [-7.71, +6.88]</td>" in html
    # The older test's control arm had 80 shoppers: too few to read a verdict from.
    assert VERDICT_TOO_EARLY.format(MIN_EFFECTIVE_SHOPPERS).replace("'", "&#x27;") in html
    assert "<td>250</td><td>26</td><td>22</td><td>8.80 [5.88, 12.96]</td>" in html
    assert [(item.experiment, item.roles) for item in version_experiments(version=shop.active)] == [
        (newer, ["control"]),
        (older, ["control"]),
    ]


def test_a_version_without_experiments_says_so(admin_client, shop):
    Experiment.objects.create(name="not started", candidate=shop.candidate, share=10)
    lonely = version(2, status="ready")

    assert NO_EXPERIMENTS in evidence(admin_client, lonely)
    html = evidence(admin_client, shop.candidate)
    assert "not started · 10 % of sessions" in html
    assert "No impressions in both arms yet." in html


def test_a_candidate_named_on_a_variant_that_ignores_it_is_no_evidence(admin_client, shop):
    """Older rows may name a candidate on a bought-together test (clean() refuses it now): its
    candidate arm was served by the active version, so the named version's page omits it."""
    ignored = services.experiment_start(
        experiment=Experiment.objects.create(
            name="bought together test",
            widget="bought_together",
            variant="similar_items",
            candidate=shop.candidate,
            share=50,
        )
    )
    impressions(ignored, shop.active, "candidate", 10, [1], widget="bought_together")

    assert version_experiments(version=shop.candidate) == []
    assert NO_EXPERIMENTS in evidence(admin_client, shop.candidate)
    assert "bought together test" not in evidence(admin_client, shop.active)
