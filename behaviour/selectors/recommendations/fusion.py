"""One score per candidate from the signals, with the breakdown that explains it.

The formula of `behaviour.ml.sequence.hybrid` (what the sequence bench measures), on the
candidates the signals bring instead of the whole catalogue:

    fused(j) = Σ_s w_s · signal_s(j) / Σ_s w_s     over the signals present,

each signal scaled by its best allowed candidate, so signals on different scales mix and the
contributions add up to the fused score. The weights are the active sequence version's
validation-tuned ones, or the hybrid's measured defaults (`HybridWeights`).
"""

from behaviour.ml.sequence.hybrid import SIGNALS, HybridWeights

from ..tiers import Candidate
from .signals import Signal

TIER_PERSONAL = "personal"
DEFAULT_WEIGHTS = {name: HybridWeights().of(name) for name in SIGNALS}


def fuse(
    signals: dict[str, Signal], weights: dict[str, float], allowed: set[int], k: int
) -> list[Candidate]:
    """The k best allowed candidates, best first (ties by id), each with its evidence:
    `signals` (scaled score per signal), `contributions` (weight share × scaled score; they add
    up to the score) and `because` (per signal, the history product id that brought it)."""
    tops = {
        name: max((v for pid, v in signal.scores.items() if pid in allowed), default=0.0)
        for name, signal in signals.items()
    }
    present = [name for name in signals if tops[name] > 0 and weights.get(name, 0.0) > 0]
    total = sum(weights[name] for name in present)
    shares = {name: weights[name] / total for name in present}
    fused: dict[int, float] = {}
    for name in present:
        for pid, value in signals[name].scores.items():
            if pid in allowed and value > 0:
                fused[pid] = fused.get(pid, 0.0) + shares[name] * value / tops[name]
    ranked = sorted(fused, key=lambda pid: (-fused[pid], pid))[:k]
    return [
        Candidate(pid, fused[pid], TIER_PERSONAL, "", _evidence(pid, signals, tops, shares))
        for pid in ranked
    ]


def _evidence(pid: int, signals: dict[str, Signal], tops: dict, shares: dict) -> dict:
    scaled = {
        name: round(signals[name].scores[pid] / tops[name], 6)
        for name in shares
        if signals[name].scores.get(pid, 0.0) > 0
    }
    return {
        "signals": scaled,
        "contributions": {name: round(shares[name] * v, 6) for name, v in scaled.items()},
        "because": {
            name: signals[name].because[pid] for name in scaled if pid in signals[name].because
        },
    }
