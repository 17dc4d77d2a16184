"""Similarity reads for pages and the API (no TensorFlow: vectors come from PostgreSQL)."""

from .history import recommended_for_history
from .jobs import job_progress, job_progress_summary
from .merchandising import shop_wide_blocked_ids
from .search import SearchHit, search_products, text_encoder_for
from .serving import serving_version
from .similar import (
    SimilarItem,
    SimilarQuery,
    SimilarResult,
    similar_products,
    similar_products_for,
    similar_to_vector,
)
from .versions import active_version, current_lexical_index, fusion_weights, rollback_target

__all__ = [
    "SearchHit",
    "SimilarItem",
    "SimilarQuery",
    "SimilarResult",
    "active_version",
    "current_lexical_index",
    "recommended_for_history",
    "fusion_weights",
    "job_progress",
    "job_progress_summary",
    "rollback_target",
    "search_products",
    "serving_version",
    "shop_wide_blocked_ids",
    "similar_products",
    "similar_products_for",
    "similar_to_vector",
    "text_encoder_for",
]
