"""Behaviour reads for pages and the API: lists from the last refresh, filled to k by content."""

from .lists import (
    BehaviourItem,
    BehaviourResult,
    ContentNeighbours,
    also_viewed,
    bought_together,
    shop_wide_filter,
    trending,
)
from .recommendations import recommended_for, recommended_for_visitor
from .recommendations.fusion import TIER_PERSONAL

__all__ = [
    "TIER_PERSONAL",
    "BehaviourItem",
    "BehaviourResult",
    "ContentNeighbours",
    "also_viewed",
    "bought_together",
    "shop_wide_filter",
    "trending",
    "recommended_for",
    "recommended_for_visitor",
]
