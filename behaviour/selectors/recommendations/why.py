"""The sentence under a personal recommendation: "Because you bought X and viewed Y"."""

from ...models import Event
from ..tiers import Candidate
from .fusion import TIER_PERSONAL
from .history import VisitorHistory

WHY_REPEAT = "You bought this before"
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
    if sources == [candidate.product_id]:
        why = WHY_REPEAT
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


def _verb(history: VisitorHistory, pid: int) -> str:
    kinds = history.kinds.get(pid, frozenset())
    return next((verb for kind, verb in VERBS if kind in kinds), "viewed")
