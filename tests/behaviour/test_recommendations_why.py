"""The sentence under a personal recommendation names the reason the shopper knows best."""

import datetime as dt
from types import SimpleNamespace

from behaviour.models import Event
from behaviour.selectors.recommendations.fusion import TIER_PERSONAL
from behaviour.selectors.recommendations.history import HistoryEvent, VisitorHistory
from behaviour.selectors.recommendations.why import WHY_OFTEN, WHY_REPEAT, explained
from behaviour.selectors.tiers import Candidate

TEALIGHTS, CANDLES, LANTERN = 1, 2, 3
PRODUCTS = {
    pid: SimpleNamespace(sku=sku, title=title)
    for pid, sku, title in [
        (TEALIGHTS, "TEA", "Tea lights"),
        (CANDLES, "CANDLE", "Candles"),
        (LANTERN, "LANTERN", "Garden lantern"),
    ]
}


def bought(*purchases: tuple[int, int]) -> VisitorHistory:
    """(product, times) purchases, one an hour."""
    hour = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    events = []
    for pid, times in purchases:
        for _ in range(times):
            events.append(HistoryEvent(pid, Event.Kind.PURCHASE, hour))
            hour += dt.timedelta(hours=1)
    kinds = {pid: frozenset({Event.Kind.PURCHASE}) for pid, _ in purchases}
    return VisitorHistory(
        events=tuple(events),
        kinds=kinds,
        bought={pid: times for pid, times in purchases},
        total=len(events),
    )


def why(history: VisitorHistory, pid: int, because: dict, contributions: dict) -> str:
    evidence = {"because": because, "contributions": contributions}
    found = [Candidate(pid, sum(contributions.values()), TIER_PERSONAL, "", evidence)]
    return explained(found, history, PRODUCTS)[0].why


def test_a_product_bought_again_says_so_whoever_else_led_to_it():
    # Peers are led by the product bought most (tea lights) and outweigh the repeat here; the
    # shopper's own reason for candles is still that they buy candles.
    led = {"peers": TEALIGHTS, "repeat": CANDLES}
    weighed = {"peers": 0.5, "repeat": 0.3}
    assert why(bought((TEALIGHTS, 3), (CANDLES, 2)), CANDLES, led, weighed) == WHY_OFTEN
    assert why(bought((TEALIGHTS, 3), (CANDLES, 1)), CANDLES, led, weighed) == WHY_REPEAT


def test_a_product_not_bought_yet_names_what_led_to_it():
    history = bought((TEALIGHTS, 3), (LANTERN, 1))
    assert (
        why(history, CANDLES, {"peers": TEALIGHTS, "cooccurrence": LANTERN}, {"peers": 0.5})
        == "Because you often buy Tea lights and bought Garden lantern"
    )
