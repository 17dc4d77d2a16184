"""behaviour.ml.sequence.hybrid: signals, fusion, the repeat rule, explain and tuning."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from behaviour.ml.sequence import hybrid
from behaviour.ml.sequence.data import KIND_CODES
from behaviour.ml.sequence.weights import HybridWeights

VIEW, PURCHASE = KIND_CODES["view"], KIND_CODES["purchase"]
N = 6
# Co-purchase partners: 0 -> 1 (strong), 0 -> 2, 3 -> 2
NEIGHBOURS = hybrid.Neighbours(
    sources=np.array([0, 0, 3]), partners=np.array([1, 2, 2]), scores=np.array([4.0, 1.0, 2.0])
)


def test_signals_are_scaled_to_one_and_missing_inputs_drop_out():
    signals = hybrid.visitor_signals(
        items=np.array([0, 3, 0]),
        kinds=np.array([PURCHASE, VIEW, PURCHASE]),
        n_items=N,
        neighbours=NEIGHBOURS,
    )
    assert sorted(signals) == ["cooccurrence", "repeat"]
    # 1: 4 * (1 + 1) from two purchases of 0; 2: 1 * 2 + 2 * 0.25 (a view of 3)
    np.testing.assert_allclose(signals["cooccurrence"], [0, 1, 2.5 / 8, 0, 0, 0])
    np.testing.assert_allclose(signals["repeat"], [1, 0, 0, 0, 0, 0])  # a view is no repeat


def test_sequence_and_content_signals():
    content = np.eye(N)[:, :4]
    content[5] = content[0]  # item 5 looks like item 0
    signals = hybrid.visitor_signals(
        items=np.array([0]),
        kinds=np.array([VIEW]),
        n_items=N,
        sequence_scores=np.array([0.0, 2.0, 1.0, 0.0, 0.0, 0.0]),
        content=content,
    )
    np.testing.assert_allclose(signals["sequence"], np.exp(np.array([0, 2, 1, 0, 0, 0]) - 2.0))
    np.testing.assert_allclose(signals["content"], [1, 0, 0, 0, 0, 1])


def test_an_empty_history_leaves_only_popularity():
    signals = hybrid.visitor_signals(
        items=np.array([], dtype=int),
        kinds=np.array([], dtype=int),
        n_items=N,
        sequence_scores=np.zeros(N),
        neighbours=NEIGHBOURS,
        popularity=np.arange(N, dtype=float),
    )
    assert list(signals) == ["popularity"]
    recs = hybrid.recommend(
        signals,
        hybrid.HybridWeights(),
        k=2,
        items=np.array([], dtype=int),
        kinds=np.array([], dtype=int),
    )
    assert [r.item for r in recs] == [5, 4]


def test_already_bought_items_are_excluded_unless_repeats_are_allowed():
    items, kinds = np.array([0, 3]), np.array([PURCHASE, VIEW])
    signals = hybrid.visitor_signals(items=items, kinds=kinds, n_items=N, neighbours=NEIGHBOURS)
    weights = hybrid.HybridWeights(cooccurrence=1.0, repeat=1.0, allow_repeats=True)
    with_repeats = hybrid.recommend(signals, weights, k=3, items=items, kinds=kinds)
    assert [r.item for r in with_repeats] == [0, 1, 2]
    no_repeats = hybrid.HybridWeights(cooccurrence=1.0, repeat=1.0, allow_repeats=False)
    without = hybrid.recommend(signals, no_repeats, k=3, items=items, kinds=kinds)
    assert [r.item for r in without] == [1, 2, 3]  # 0 was bought; 3 was only viewed
    excluded = hybrid.recommend(
        signals, no_repeats, k=3, items=items, kinds=kinds, exclude=np.array([1])
    )
    assert [r.item for r in excluded] == [2, 3, 4]


def test_the_breakdown_adds_up_and_names_the_history_behind_each_item():
    items, kinds = np.array([0, 3]), np.array([PURCHASE, VIEW])
    signals = hybrid.visitor_signals(items=items, kinds=kinds, n_items=N, neighbours=NEIGHBOURS)
    weights = hybrid.HybridWeights(cooccurrence=1.0, repeat=3.0, allow_repeats=True)
    recs = hybrid.recommend(signals, weights, k=4, items=items, kinds=kinds, neighbours=NEIGHBOURS)
    for rec in recs:
        assert sum(rec.contributions.values()) == pytest.approx(rec.score)
    by_item = {rec.item: rec for rec in recs}
    assert by_item[0].because == [(0, PURCHASE)]  # bought it before
    assert by_item[0].contributions == {"cooccurrence": 0.0, "repeat": 0.75}
    # 2: bought 0 (1 x 1.0) and viewed 3 (2 x 0.25): "because you bought 0 and viewed 3"
    assert by_item[2].because == [(0, PURCHASE), (3, VIEW)]


def test_tuning_finds_the_signal_that_predicts_the_targets():
    rng = np.random.default_rng(0)
    cases = []
    for _ in range(40):
        useful = rng.random(N * 5)
        noise = rng.random(N * 5)
        targets = np.argsort(-useful)[:3]
        signals = {"sequence": noise, "cooccurrence": useful, "repeat": rng.random(N * 5)}
        cases.append((signals, np.zeros(N * 5, dtype=bool), targets))
    start = hybrid.HybridWeights(cooccurrence=0.0, repeat=1.0)
    assert hybrid.recall_of(cases, start, k=3) < 0.5
    tuned = hybrid.tune_weights(cases, k=3, grid=(0.0, 1.0, 10.0), start=start)
    assert tuned.cooccurrence == 10.0 and tuned.repeat == 0.0
    assert hybrid.recall_of(cases, tuned, k=3) > 0.8


def test_weights_round_trip():
    weights = hybrid.HybridWeights(sequence=1.0, content=0.3, allow_repeats=False)
    assert hybrid.HybridWeights.from_dict(weights.to_dict()) == weights


def test_the_serving_modules_import_no_tensorflow():
    probe = (
        "import sys\n"
        "import behaviour.ml.sequence.serving, behaviour.ml.sequence.hybrid\n"
        "import behaviour.ml.sequence.artifacts, behaviour.ml.sequence.data\n"
        "print(sorted(m for m in ('tensorflow', 'keras', 'jax') if m in sys.modules))\n"
    )
    root = Path(__file__).resolve().parents[3]
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=root, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_repeats_are_weighted_by_how_well_each_product_sells_now():
    # bought twice each; 0 no longer sells, 3 sold 8 baskets' worth lately (decayed)
    items, kinds = np.array([0, 3, 0, 3]), np.full(4, PURCHASE)
    selling = np.array([0.0, 0, 0, 8.0, 0, 0])

    plain = hybrid.visitor_signals(items=items, kinds=kinds, n_items=N)
    weighted = hybrid.visitor_signals(items=items, kinds=kinds, n_items=N, selling=selling)

    np.testing.assert_allclose(plain["repeat"], [1, 0, 0, 1, 0, 0])
    # sqrt(1 + 0) = 1 against sqrt(1 + 8) = 3: the product still selling comes first
    np.testing.assert_allclose(weighted["repeat"], [1 / 3, 0, 0, 1, 0, 0])


def test_compaction_keeps_an_item_fair_on_two_signals_that_tops_the_fused_list():
    from behaviour.ml.sequence.tuning import recall_of
    from behaviour.ml.sequence.tuning_cases import compact

    # Item 500 is outside each signal's best 200 (1.0 on 0-199 and 200-399) but 0.99 on both:
    # fused with equal weights it beats every item best on one signal alone.
    repeat, peers = np.zeros(1000), np.zeros(1000)
    repeat[:200], peers[200:400] = 1.0, 1.0
    repeat[500] = peers[500] = 0.99
    case = ({"repeat": repeat, "peers": peers}, np.zeros(1000, dtype=bool), np.array([500]))
    weights = HybridWeights(repeat=3.0, peers=3.0)

    assert recall_of([case], weights) == 1.0
    assert recall_of([compact(*case)], weights) == 1.0


def test_an_excluded_bought_item_is_never_found_even_among_fewer_items_than_k():
    from behaviour.ml.sequence.tuning import recall_of

    case = ({"repeat": np.array([1.0, 0.5, 0.4])}, np.array([True, False, False]), np.array([0]))

    assert recall_of([case], HybridWeights(allow_repeats=False), k=20) == 0.0
    assert recall_of([case], HybridWeights(allow_repeats=True), k=20) == 1.0
