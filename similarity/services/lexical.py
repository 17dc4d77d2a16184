"""Lexical text vectors of the catalogue: build the IDF over all products, store each product's
sparse vector, and keep single products current between rebuilds. No TensorFlow."""

import hashlib
import logging

from django.db import transaction

from catalog import selectors as catalog_selectors
from catalog.category_paths import CATEGORY_PATH_SEPARATOR
from catalog.selectors import ProductFacts

from .. import cache as similar_cache
from .. import vector_store
from ..ml import lexical
from ..models import LexicalIndex
from ..selectors import current_lexical_index
from .catalogue_changes import similar_lists_stale

logger = logging.getLogger(__name__)

DESCRIPTION_CHARS = 300  # the opening of a description names the product; the rest is prose


def product_text(facts: ProductFacts) -> str:
    """The text that represents a product: name, brand, category, tags and attribute values."""
    attribute_values = " ".join(str(value) for value in facts.attributes.values())
    return " ".join(
        filter(
            None,
            [
                facts.title,
                facts.brand,
                facts.category_path.replace(CATEGORY_PATH_SEPARATOR, " "),
                " ".join(facts.tags),
                attribute_values,
                facts.description[:DESCRIPTION_CHARS],
            ],
        )
    )


def lexical_index_rebuild() -> LexicalIndex:
    """Fit the IDF on today's catalogue, vectorise every product, then switch atomically."""
    facts = catalog_selectors.product_facts()
    texts = [product_text(item) for item in facts]
    idf = lexical.fit_idf(texts)
    index = LexicalIndex.objects.create(documents=idf.documents, idf=idf.as_json())
    vector_store.product_texts_upsert(
        index=index,
        product_ids=[item.product_id for item in facts],
        vectors=[lexical.vectorise(text, idf) for text in texts],
        shas=[_sha(text) for text in texts],
    )
    with transaction.atomic():
        LexicalIndex.objects.filter(is_current=True).update(is_current=False)
        LexicalIndex.objects.filter(pk=index.pk).update(is_current=True)
        similar_cache.serving_changed()
    LexicalIndex.objects.exclude(pk=index.pk).delete()
    logger.info("Lexical index %s built over %s products", index.pk, idf.documents)
    index.is_current = True
    return index


def product_texts_refresh(*, product_ids: list[int]) -> None:
    """Re-vectorise these products with the current IDF (a rebuild later refreshes the IDF)."""
    index = current_lexical_index()
    if index is None:
        lexical_index_rebuild()
        return
    idf = lexical.IdfTable.from_json(index.idf)
    facts = catalog_selectors.product_facts(product_ids=product_ids)
    texts = [product_text(item) for item in facts]
    vector_store.product_texts_upsert(
        index=index,
        product_ids=[item.product_id for item in facts],
        vectors=[lexical.vectorise(text, idf) for text in texts],
        shas=[_sha(text) for text in texts],
    )
    similar_lists_stale(product_ids=product_ids)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
