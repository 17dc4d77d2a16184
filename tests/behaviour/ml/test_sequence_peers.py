"""behaviour.ml.sequence.peers (user-kNN) and the hybrid's per-version tuning cases."""

import numpy as np

from behaviour.ml.sequence import hybrid
from behaviour.ml.sequence.data import KIND_CODES, SequenceData, time_split
from behaviour.ml.sequence.peers import Peers
from behaviour.ml.sequence.tuning_cases import compact, validation_cases

VIEW, PURCHASE = KIND_CODES["view"], KIND_CODES["purchase"]
DAY = 86_400


def shoppers(baskets: dict[int, list[list[int]]], n_items: int, start: int = 0) -> SequenceData:
    """Purchase events of {visitor: [basket items, ...]}, one basket a day from `start`."""
    visitors, items, times = [], [], []
    for visitor, their in baskets.items():
        for day, basket in enumerate(their):
            visitors += [visitor] * len(basket)
            items += basket
            times += [start + day * DAY] * len(basket)
    kinds = np.full(len(items), PURCHASE)
    return SequenceData.from_arrays(visitors, items, kinds, times, n_items)


def split_at_day_30(past: dict, later: dict, *, n_items: int):
    """(train, valid) of `past` baskets from day 0 and `later` ones from day 40, split at 30."""
    data = shoppers(past, n_items=n_items)
    future = shoppers(later, n_items=n_items, start=40 * DAY)
    both = SequenceData.from_arrays(
        np.concatenate([np.repeat(data.visitors, data.lengths), future.visitors]),
        np.concatenate([data.items, future.items]),
        np.concatenate([data.kinds, future.kinds]),
        np.concatenate([data.times, future.times]),
        n_items,
    )
    return time_split(both, 30 * DAY)


def test_peers_name_what_like_minded_shoppers_buy_and_not_the_visitor_themself():
    # Shoppers 0-2 buy the candle range {0, 1, 2} and also 3; shopper 3 buys mugs {4, 5}.
    data = shoppers({0: [[0, 1, 3]], 1: [[0, 2, 3]], 2: [[1, 2, 3]], 3: [[4, 5]]}, n_items=6)
    peers = Peers.fit(data)
    scores = peers.scores(np.array([0, 1]), np.array([PURCHASE, PURCHASE]))
    assert scores[3] > scores[2] > 0  # every candle buyer also took 3
    assert scores[4] == scores[5] == 0  # nobody like them buys mugs
    # Shopper 0's own profile is not their peer: 1 and 2 are, and they share 3 and 2 with them.
    own = peers.scores(np.array([0, 1, 3]), np.full(3, PURCHASE))
    assert own[2] > 0 and own[4] == 0


def test_peers_of_an_unknown_history_are_zero():
    peers = Peers.fit(shoppers({0: [[0, 1]]}, n_items=3))
    assert not peers.scores(np.array([2]), np.array([VIEW])).any()
    assert not peers.scores(np.array([], dtype=int), np.array([], dtype=int)).any()
    assert not peers.scores(np.array([7]), np.array([PURCHASE])).any()  # outside the catalogue


def test_peers_keep_the_most_active_shoppers_and_survive_a_save(tmp_path):
    data = shoppers({0: [[0]], 1: [[0, 1], [1]], 2: [[2, 1, 0]]}, n_items=3)
    kept = Peers.fit(data, max_peers=2)
    assert kept.profiles.shape == (2, 3)
    loaded = Peers.load(kept.save(tmp_path / "peers.npz"))
    np.testing.assert_allclose(loaded.profiles.toarray(), kept.profiles.toarray())
    np.testing.assert_allclose(np.linalg.norm(loaded.profiles.toarray(), axis=1), 1.0, rtol=1e-6)


def test_peers_enter_the_hybrid_as_a_signal():
    signals = hybrid.visitor_signals(
        items=np.array([0]),
        kinds=np.array([PURCHASE]),
        n_items=3,
        peer_scores=np.array([0.0, 2.0, 1.0]),
    )
    np.testing.assert_allclose(signals["peers"], [0, 1, 0.5])

    def ranked(weights):
        recs = hybrid.recommend(
            signals, weights, k=3, items=np.array([0]), kinds=np.array([PURCHASE])
        )
        return [r.item for r in recs]

    assert ranked(hybrid.HybridWeights(repeat=1.0, peers=3.0)) == [1, 2, 0]
    assert ranked(hybrid.HybridWeights(repeat=1.0, peers=0.3)) == [0, 1, 2]


def test_compact_keeps_recall_and_drops_the_rest():
    rng = np.random.default_rng(3)
    signals = {"repeat": rng.random(1_000), "peers": rng.random(1_000)}
    targets = np.array([int(np.argmax(signals["repeat"])), int(np.argmin(signals["peers"]))])
    small, bought, moved = compact(signals, np.zeros(1_000, dtype=bool), targets)
    assert len(bought) <= 400 and len(small["repeat"]) == len(bought)
    weights = hybrid.HybridWeights(repeat=1.0, peers=1.0)
    full = hybrid.recall_of([(signals, np.zeros(1_000, dtype=bool), targets)], weights)
    assert hybrid.recall_of([(small, bought, moved)], weights) == full
    assert moved[1] == -1 or small["peers"][moved[1]] == signals["peers"][targets[1]]


def test_tuning_cases_read_only_the_past_and_find_what_counts():
    # Each shopper buys their own item again later: repeats predict, nothing else does.
    past = {v: [[v % 5, 5 + (v % 3)], [v % 5]] for v in range(30)}
    later = {v: [[v % 5]] for v in range(30)}
    train, valid = split_at_day_30(past, later, n_items=8)
    cases = validation_cases(train, valid, peers=Peers.fit(train))
    assert len(cases) == 30
    # Popularity is no signal of the served fusion (trending fills after it): none here either.
    assert all(set(signals) == {"repeat", "cooccurrence", "peers"} for signals, *_ in cases)
    no_repeats = hybrid.HybridWeights(allow_repeats=False)
    assert hybrid.recall_of(cases, no_repeats, k=1) == 0.0
    tuned = hybrid.tune_weights(cases, k=1, start=no_repeats)
    assert tuned.allow_repeats and hybrid.recall_of(cases, tuned, k=1) == 1.0


def test_tuning_cases_weigh_repeats_by_what_still_sells_as_served():
    # Shopper 0 bought 1 on day 0 and 2 on day 1; shoppers 1-3 keep buying 2 up to day 29, and
    # nobody buys 1 again: 1 has stopped selling. Each of them buys again after day 30.
    old = {0: [[1], [2]], **{v: [[2]] * 30 for v in (1, 2, 3)}}
    later = {v: [[2]] for v in (0, 1, 2, 3)}
    train, valid = split_at_day_30(old, later, n_items=3)

    def repeat_of_shopper_0(**selling):
        cases = validation_cases(train, valid, **selling)
        index = int(np.flatnonzero(np.unique(train.visitors) == 0)[0])
        return cases[index][0]["repeat"]

    plain = repeat_of_shopper_0()
    weighted = repeat_of_shopper_0(selling_half_life_days=7.0)

    assert plain[1] == plain[2] == 1.0  # items 1 and 2, once each (3 items: none compacted)
    assert weighted[2] == 1.0 and weighted[1] < 0.5


def test_tuning_cases_read_each_visitor_as_the_recommendations_do():
    # Shopper 0 bought 120 of item 1 one day and 120 of item 2 the next; the recommendations
    # read only the newest SERVED_HISTORY_EVENTS (100), where item 1 is gone: so must tuning.
    old = {0: [[1] * 120, [2] * 120], 1: [[2]]}
    train, valid = split_at_day_30(old, {0: [[1]], 1: [[2]]}, n_items=3)
    cases = validation_cases(train, valid)
    index = int(np.flatnonzero(np.unique(train.visitors) == 0)[0])
    assert cases[index][0]["repeat"][1] == 0.0 and cases[index][0]["repeat"][2] == 1.0
    whole = validation_cases(train, valid, history_events=1_000)
    assert whole[index][0]["repeat"][1] == 1.0


def test_tuning_cases_leave_out_what_the_recommendations_never_show():
    # Shopper 0 viewed item 1 and bought item 2, then bought 1: the recommendations never show a
    # product only viewed (the strip of recently viewed does), and count no view as a repeat.
    rows = [  # (visitor, item, kind, day): before day 30 they train, after it they validate
        (0, 1, VIEW, 0),
        (0, 2, PURCHASE, 1),
        (1, 1, PURCHASE, 0),
        (1, 3, PURCHASE, 1),
        (0, 1, PURCHASE, 40),
        (1, 3, PURCHASE, 40),
    ]
    visitors, items, kinds, days = (np.array(column) for column in zip(*rows, strict=True))
    both = SequenceData.from_arrays(visitors, items, kinds, days * DAY, 4)
    train, valid = time_split(both, 30 * DAY)

    cases = validation_cases(train, valid, peers=Peers.fit(train))
    signals, bought, targets = cases[0]

    # Item 1, which shopper 0 only viewed, is no candidate (peers bring it): never found, even
    # where a short list would take any item left. Items 0, 2 and 3 stay.
    assert targets.tolist() == [-1]
    assert hybrid.recall_of(cases[:1], hybrid.HybridWeights(peers=1.0)) == 0.0
    assert signals["repeat"].tolist() == [0.0, 1.0, 0.0]
    assert bought.tolist() == [False, True, False]
