"""Recommended for you: a visitor's own events, read at request time, fused into one list."""

from .history import VisitorHistory, history_of, visitor_history
from .recommend import (
    TIER_NO_HISTORY,
    recommended_for,
    recommended_for_history,
    recommended_for_visitor,
)

__all__ = [
    "TIER_NO_HISTORY",
    "VisitorHistory",
    "history_of",
    "recommended_for",
    "recommended_for_history",
    "recommended_for_visitor",
    "visitor_history",
]
