"""Hand-built versions and vectors for vector_store tests (and the similarity tests that share
them)."""

import numpy as np

from similarity import vector_store
from similarity.models import ModelVersion


def version(dim: int, status: str = "ready") -> ModelVersion:
    return ModelVersion.objects.create(
        backbone="small_cnn", weights="none", input_size=32, embedding_dim=dim, status=status
    )


def unit(*values) -> np.ndarray:
    vector = np.array(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def store(v: ModelVersion, products, vectors: list[np.ndarray]) -> None:
    images = [product.images.get() for product in products]
    vector_store.image_embeddings_upsert(
        version=v,
        image_ids=[image.pk for image in images],
        shas=[i.sha256 for i in images],
        vectors=np.stack(vectors),
    )
    vector_store.product_embeddings_refresh(version=v, product_ids=[p.pk for p in products])
