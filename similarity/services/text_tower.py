"""The pipeline step that trains a version's text tower (imports TensorFlow) and stores every
product's text vector in the version's image space; plus its cross-modal evaluation."""

from pathlib import Path

import numpy as np

from catalog import selectors as catalog_selectors

from .. import vector_store
from ..ml import evaluation as ml_evaluation
from ..ml.text_encoder import tokenise_batch
from ..ml.text_tower import TextTowerConfig, build_text_tower, export_text_tower, train_text_tower
from ..models import ModelVersion
from .lexical_records import product_text


def _scores(text_vectors, query_ids, image_vectors, gallery_ids) -> dict:
    return ml_evaluation.retrieval_metrics(
        text_vectors, query_ids, image_vectors, gallery_ids
    ).as_dict()


def text_tower_train(*, version: ModelVersion, test_image_ids: set[int]) -> dict:
    """Train on the products outside the test split; evaluate text→image on the test products.

    Returns {"text_to_image": metrics, "text_to_image_untrained": metrics} where a query is a
    product's text and the relevant gallery item is that product's image vector.
    """
    all_ids, all_vectors = vector_store.product_vectors(version=version)
    facts = {item.product_id: item for item in catalog_selectors.product_facts(product_ids=all_ids)}
    keep = [row for row, pid in enumerate(all_ids) if pid in facts]  # active products only
    ids, image_vectors = [all_ids[row] for row in keep], all_vectors[keep]
    texts = [product_text(facts[pid]) for pid in ids]
    test_products = {
        record.product_id
        for record in catalog_selectors.image_records()
        if record.image_id in test_image_ids
    }
    train_rows = [i for i, pid in enumerate(ids) if pid not in test_products]
    test_rows = [i for i, pid in enumerate(ids) if pid in test_products]
    config = TextTowerConfig(**version.params.get("text_tower_config", {}))
    model, _history = train_text_tower(
        [texts[i] for i in train_rows], image_vectors[train_rows], config
    )
    encoder = export_text_tower(model, directory=Path(version.artifact_dir))
    text_vectors = encoder.encode(texts)
    vector_store.product_text_embeddings_set(version=version, product_ids=ids, vectors=text_vectors)
    vector_store.text_hnsw_index_build(version=version)
    if not test_rows:
        return {}
    untrained = np.asarray(
        build_text_tower(config, version.vector_dim)(tokenise_batch([texts[i] for i in test_rows]))
    )
    return {
        "text_to_image": _scores(
            text_vectors[test_rows], [ids[i] for i in test_rows], image_vectors, ids
        ),
        "text_to_image_untrained": _scores(
            untrained, [ids[i] for i in test_rows], image_vectors, ids
        ),
    }
