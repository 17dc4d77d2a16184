"""Similarity reads for pages and the API (no TensorFlow: vectors come from PostgreSQL).

similar_products: candidates from the image HNSW index and the lexical sparsevec index are
unioned, their signals fetched in one query, and re-ranked by the fused score (fusion.py).
"""

from dataclasses import dataclass

from django.conf import settings

from catalog import selectors as catalog_selectors
from catalog.models import Product
from catalog.selectors import ProductFacts

from . import fusion, vector_store
from .models import FusionWeights, LexicalIndex, ModelVersion


@dataclass(frozen=True)
class SimilarItem:
    product: Product
    score: float  # fused, in [0, 1]
    breakdown: fusion.Breakdown

    @property
    def image_similarity(self) -> float | None:
        return self.breakdown.scores["image"]


def active_version() -> ModelVersion | None:
    return ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).first()


def current_lexical_index() -> LexicalIndex | None:
    return LexicalIndex.objects.filter(is_current=True).first()


def fusion_weights(*, category_path: str) -> fusion.Weights:
    """The deepest category's weights on the path, else the global row, else the defaults."""
    levels = category_path.split(" > ") if category_path else []
    paths = [" > ".join(levels[:depth]) for depth in range(len(levels), 0, -1)]
    rows = {
        row.category.path if row.category else "": row
        for row in FusionWeights.objects.filter(category__path__in=paths).select_related("category")
    }
    row = next((rows[path] for path in paths if path in rows), None)
    row = row or FusionWeights.objects.filter(category__isnull=True).first()
    if row is None:
        return fusion.Weights(**settings.PRODSIM_FUSION_WEIGHTS)
    return fusion.Weights(*(getattr(row, name) for name in fusion.SIGNALS))


def _facts(item: ProductFacts) -> fusion.Facts:
    return fusion.Facts(item.brand, item.category_path, item.tags, item.attributes, item.price)


def similar_products(
    *,
    product: Product,
    k: int = 8,
    exclude_variant_group: bool = True,
    weights: fusion.Weights | None = None,
) -> list[SimilarItem]:
    """The k products most similar to `product` by the fused score, best first.

    Excludes the product itself and, by default, its other variants (same group_id). `weights`
    overrides the configured ones (evaluation and tuning).
    """
    version, index = active_version(), current_lexical_index()
    image, text, learned = vector_store.product_text_sources(
        version=version, index=index, product_id=product.pk
    )
    exclude = [product.pk]
    if exclude_variant_group and product.group_id:
        exclude += catalog_selectors.product_ids_in_group(group_id=product.group_id)
    candidates = _candidates(version, index, image, text, exclude)
    if not candidates:
        return []
    signals = vector_store.candidate_signals(
        version=version,
        index=index,
        product_ids=candidates,
        image_vector=image,
        text_vector=text,
        text_embedding=learned,
    )
    [source] = catalog_selectors.product_facts(product_ids=[product.pk]) or [None]
    if source is None:
        return []
    weights = weights or fusion_weights(category_path=source.category_path)
    facts = {
        item.product_id: item for item in catalog_selectors.product_facts(product_ids=candidates)
    }
    scored = sorted(
        (
            (
                pid,
                fusion.fuse(
                    source=_facts(source),
                    candidate=_facts(facts[pid]),
                    weights=weights,
                    image=signals[pid].image,
                    text=signals[pid].text,
                    text_learned=signals[pid].text_learned,
                ),
            )
            for pid in candidates
            if pid in facts
        ),
        key=lambda pair: (-pair[1].fused, pair[0]),
    )[:k]
    products = catalog_selectors.products_by_ids(ids=[pid for pid, _ in scored])
    return [
        SimilarItem(products[pid], breakdown.fused, breakdown)
        for pid, breakdown in scored
        if pid in products
    ]


def _candidates(version, index, image, text, exclude) -> list[int]:
    per_source = settings.PRODSIM_FUSION_CANDIDATES
    found: dict[int, None] = {}
    if version is not None and image is not None:
        for n in vector_store.nearest_products(
            version=version, vector=image, k=per_source, exclude_product_ids=exclude
        ):
            found[n.product_id] = None
    if index is not None and text:
        for n in vector_store.nearest_texts(
            index=index, vector=text, k=per_source, exclude_product_ids=exclude
        ):
            found[n.product_id] = None
    return list(found)


SEARCH_LEXICAL_WEIGHT = 0.6  # words decide; pictures break ties and find unnamed looks
SEARCH_VISUAL_CANDIDATES = 48  # picture-only matches admitted per query (two result pages)


@dataclass(frozen=True)
class SearchHit:
    product_id: int
    score: float
    lexical: float | None
    visual: float | None


def search_products(*, query: str, limit: int = 240) -> list[SearchHit] | None:
    """Products ranked for a free-text query by their words and, through the active version's
    text tower, by their pictures ("red striped mug" finds mugs whose titles never say striped).

    None when nothing is indexed yet (callers fall back to plain word matching).
    """
    from .services.lexical import query_vector  # NumPy only

    index, text = query_vector(query)
    version = active_version()
    encoder = text_encoder_for(version)
    visual = encoder.encode([query])[0] if encoder is not None else None
    if index is None and visual is None:
        return None
    found: dict[int, None] = {}
    if index is not None and text:
        found.update(
            (n.product_id, None)
            for n in vector_store.nearest_texts(index=index, vector=text, k=limit)
            if n.distance < 1.0
        )
    if visual is not None:
        found.update(
            (n.product_id, None)
            for n in vector_store.nearest_products(
                version=version, vector=visual, k=SEARCH_VISUAL_CANDIDATES
            )
        )
    signals = vector_store.candidate_signals(
        version=version,
        index=index,
        product_ids=list(found),
        image_vector=visual,
        text_vector=text or None,
        text_embedding=None,
    )
    hits = [_search_hit(pid, signals[pid]) for pid in found]
    return sorted(hits, key=lambda hit: (-hit.score, hit.product_id))[:limit]


def _search_hit(product_id: int, signals: vector_store.CandidateSignals) -> SearchHit:
    lexical = signals.text
    visual = None if signals.image is None else (1 + signals.image) / 2
    score = SEARCH_LEXICAL_WEIGHT * (lexical or 0.0) + (1 - SEARCH_LEXICAL_WEIGHT) * (visual or 0)
    return SearchHit(product_id, score, lexical, visual)


def text_encoder_for(version: ModelVersion | None):
    from .ml.text_encoder import cached_text_encoder

    if version is None or not version.artifact_dir:
        return None
    return cached_text_encoder(version.artifact_dir)
