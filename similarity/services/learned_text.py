"""The learned text vectors (signal `text_learned`) of changed products, kept in step with
their text. Training's text tower stores every product's; after that a title or description
edit is re-encoded here, and so is a new product once its image vector gives it a row. The
version's exported encoder runs in NumPy: no TensorFlow on the default queue.
"""

from catalog import selectors as catalog_selectors

from .. import vector_store
from ..models import ModelVersion
from ..selectors import text_encoder_for
from .lexical_records import product_text

# Encoding gathers (batch, SEQUENCE_LENGTH, dim) float32 token vectors at once: 256 keeps that
# near 50 MB at dim 512, whatever the size of an import.
ENCODE_BATCH = 256


def product_text_vectors_refresh(*, version: ModelVersion | None, product_ids: list[int]) -> int:
    """Re-encode these products' texts with `version`'s text tower and store them on its product
    rows; returns how many were encoded. Nothing when the version has no text tower.

    Only rows that exist are written (vector_store.product_text_embeddings_set updates): a
    product without an image vector yet gets its text vector when embedding writes its row.
    Inactive products are skipped, as at training: they are never served.
    """
    encoder = text_encoder_for(version)
    if encoder is None:
        return 0
    facts = catalog_selectors.product_facts(product_ids=sorted(set(product_ids)))
    for start in range(0, len(facts), ENCODE_BATCH):
        batch = facts[start : start + ENCODE_BATCH]
        vector_store.product_text_embeddings_set(
            version=version,
            product_ids=[item.product_id for item in batch],
            vectors=encoder.encode([product_text(item) for item in batch]),
        )
    return len(facts)
