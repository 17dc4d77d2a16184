"""Free-text search: lexical vectors plus the text tower's cross-modal candidates."""

from dataclasses import dataclass

from catalog import selectors as catalog_selectors
from catalog.selectors import ProductFilter

from .. import vector_store
from ..models import ModelVersion
from . import merchandising
from .lexical import query_vector
from .serving import serving_state

SEARCH_LEXICAL_WEIGHT = 0.6  # words decide; pictures break ties and find unnamed looks
# Of the best hit's score: on the demo shop "backpack" and "lamp" then keep exactly their 36.
RELEVANCE_FLOOR = 0.5
SEARCH_VISUAL_CANDIDATES = 48  # picture-only matches admitted per query (two result pages)


@dataclass(frozen=True)
class SearchHit:
    product_id: int
    score: float
    lexical: float | None
    visual: float | None


def search_products(
    *,
    query: str,
    limit: int = 240,
    fields: dict[str, str] | None = None,
    category_path: str | None = None,
) -> list[SearchHit] | None:
    """Products ranked for a free-text query by their words and, through the active version's
    text tower, by their pictures ("red striped mug" finds mugs whose titles never say striped).

    `fields` (title, brand, model, category, description) replaces the plain `query` as the
    lexical query when a caller has a structured record; only the fields sent count.
    `category_path` searches that category's subtree only: the limit and the relevance floor
    then apply among its products, so its best match counts as the best, however far better a
    product elsewhere matches. None when nothing is indexed yet (callers fall back to plain
    word matching).
    """
    index, text = query_vector(fields or {"title": query})
    state = serving_state()
    version = state.version
    encoder = text_encoder_for(version)
    visual = encoder.encode([query])[0] if encoder is not None else None
    if index is None and visual is None:
        return None
    # The searches themselves leave out withdrawn products (their vectors stay) and shop-wide
    # blocks, so `limit` hits are `limit` servable products: dropped afterwards, they shortened
    # the answer and moved the relevance floor.
    blocked = merchandising.shop_wide_blocked_ids(state=state)
    in_category = (category_path,) if category_path else ()
    servable = catalog_selectors.products_matching(
        product_filter=ProductFilter(exclude_ids=tuple(blocked), category_paths=in_category)
    )
    found: dict[int, None] = {}
    if index is not None and text:
        found.update(
            (n.product_id, None)
            for n in vector_store.nearest_texts(index=index, vector=text, k=limit, allowed=servable)
            if n.distance < 1.0
        )
    if visual is not None:
        found.update(
            (n.product_id, None)
            for n in vector_store.nearest_products(
                version=version, vector=visual, k=SEARCH_VISUAL_CANDIDATES, allowed=servable
            )
        )
    signals = vector_store.candidate_signals(
        version=version,
        index=index,
        product_ids=list(found),
        source=vector_store.QueryVectors(image=visual, text=text or None),
    )
    hits = [_search_hit(pid, signals[pid]) for pid in found]
    ranked = sorted(hits, key=lambda hit: (-hit.score, hit.product_id))
    # A product sharing one trigram with the query is not a match: keep what scores within
    # reach of the best hit.
    floor = ranked[0].score * RELEVANCE_FLOOR if ranked else 0.0
    return [hit for hit in ranked if hit.score >= floor][:limit]


def _search_hit(product_id: int, signals: vector_store.CandidateSignals) -> SearchHit:
    lexical = signals.text
    # Plain cosine, floored at 0: an unrelated picture must not score half marks.
    visual = None if signals.image is None else max(0.0, signals.image)
    score = SEARCH_LEXICAL_WEIGHT * (lexical or 0.0) + (1 - SEARCH_LEXICAL_WEIGHT) * (visual or 0)
    return SearchHit(product_id, score, lexical, visual)


def text_encoder_for(version: ModelVersion | None):
    from ..ml.text_encoder import cached_text_encoder

    if version is None or not version.artifact_dir:
        return None
    return cached_text_encoder(version.artifact_dir)
