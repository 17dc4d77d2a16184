"""The sentence under a personal recommendation: "Because you bought X and viewed Y", "Because
you often buy X" (peers and partners of a product bought again and again), "You often buy this"."""

from ...models import Event
from ..tiers import Candidate
from .fusion import TIER_PERSONAL
from .history import VisitorHistory

WHY_REPEAT = "You bought this before"
# Added, never bought (the repeats count adds to basket too). Said in the past: a removal from
# the basket is no event, so the product may have left it since.
WHY_IN_BASKET = "You added this to your basket"
WHY_OFTEN = "You often buy this"
OFTEN = 2  # purchases of one product (adds to basket aside: one sale has both) that are "often"
WHY_BECAUSE = "Because you {reasons}"
WHY_PERSONAL = "Picked for you"
REASONS_SHOWN = 2
VERBS = (  # the strongest kind a product was seen with names what the visitor did
    (Event.Kind.PURCHASE, "bought"),
    (Event.Kind.ADD_TO_CART, "added to basket"),
    (Event.Kind.CLICK, "viewed"),
    (Event.Kind.VIEW, "viewed"),
)


def explained(found: list[Candidate], history: VisitorHistory, products: dict) -> list[Candidate]:
    """The personal candidates with their why-hint and `because` as SKUs (the history products'
    ids are internal); `products`: id → Product, holding every history product named."""
    return [
        _explain(candidate, history, products) if candidate.tier == TIER_PERSONAL else candidate
        for candidate in found
    ]


def _explain(candidate: Candidate, history: VisitorHistory, products: dict) -> Candidate:
    because = candidate.evidence.get("because", {})
    contributions = candidate.evidence.get("contributions", {})
    order = sorted(because, key=lambda name: -contributions.get(name, 0.0))
    sources = list(dict.fromkeys(because[name] for name in order))
    # A product the visitor bought (or holds in the basket) themself: that is the reason they
    # know, whichever product their peers or the sequence model were led by.
    if because.get("repeat") == candidate.product_id or sources == [candidate.product_id]:
        why = _why_own(history, candidate.product_id)
    else:
        reasons = [
            f"{_verb(history, pid)} {products[pid].title}"
            for pid in sources
            if pid != candidate.product_id and pid in products
        ][:REASONS_SHOWN]
        why = WHY_BECAUSE.format(reasons=" and ".join(reasons)) if reasons else WHY_PERSONAL
    evidence = {
        **candidate.evidence,
        "because": {name: products[pid].sku for name, pid in because.items() if pid in products},
    }
    return Candidate(candidate.product_id, candidate.score, candidate.tier, why, evidence)


def _why_own(history: VisitorHistory, pid: int) -> str:
    purchases = _purchases(history, pid)
    if purchases >= OFTEN:
        return WHY_OFTEN
    return WHY_REPEAT if purchases else WHY_IN_BASKET


def _verb(history: VisitorHistory, pid: int) -> str:
    if _purchases(history, pid) >= OFTEN:
        return "often buy"  # the peers signal's reason: who buys like you buys this
    kinds = history.kinds.get(pid, frozenset())
    return next((verb for kind, verb in VERBS if kind in kinds), "viewed")


def _purchases(history: VisitorHistory, pid: int) -> int:
    return sum(e.product_id == pid and e.kind == Event.Kind.PURCHASE for e in history.events)
