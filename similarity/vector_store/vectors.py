"""Reading stored vectors back: one product's, all of a version's, which images have one, and
which products' vectors are behind the product."""

from collections.abc import Sequence

import numpy as np
from django.db import connection

from ..models import ImageEmbedding, ModelVersion, ProductText
from .sql import parse_vector_binary, vector_binary

VECTOR_COLUMNS = ("embedding", "text_embedding")


def product_vector(
    *, version: ModelVersion, product_id: int, column: str = "embedding"
) -> np.ndarray | None:
    """A product's stored vector: its image vector, or (column="text_embedding") its text one."""
    if column not in VECTOR_COLUMNS:
        raise ValueError(f"unknown vector column {column!r}")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {vector_binary(column)} FROM similarity_productembedding "
            f"WHERE model_version_id = %s AND product_id = %s AND {column} IS NOT NULL",
            [version.pk, product_id],
        )
        row = cursor.fetchone()
    return None if row is None else parse_vector_binary(row[0])


def product_vectors(*, version: ModelVersion) -> tuple[list[int], np.ndarray]:
    """All product ids and their image vectors under this version, in id order."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT product_id, {vector_binary('embedding')} FROM similarity_productembedding "
            "WHERE model_version_id = %s ORDER BY product_id",
            [version.pk],
        )
        rows = cursor.fetchall()
    if not rows:
        return [], np.zeros((0, version.vector_dim), dtype=np.float32)
    return [row[0] for row in rows], np.stack([parse_vector_binary(row[1]) for row in rows])


def product_vectors_for(
    *, version: ModelVersion, product_ids: Sequence[int]
) -> dict[int, np.ndarray]:
    """Image vectors of these products under this version (diversity re-ranking, a visitor's
    image profile)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT product_id, {vector_binary('embedding')} FROM similarity_productembedding "
            "WHERE model_version_id = %s AND product_id = ANY(%s)",
            [version.pk, list(product_ids)],
        )
        return {row[0]: parse_vector_binary(row[1]) for row in cursor.fetchall()}


def product_sketches_for(*, index_pk: int, product_ids: Sequence[int]) -> dict[int, np.ndarray]:
    """The dense sketches (ml.lexical.sketch) of these products' texts under a lexical index."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT product_id, sketch::vector::real[] FROM {ProductText._meta.db_table} "
            "WHERE lexical_index_id = %s AND product_id = ANY(%s)",
            [index_pk, list(product_ids)],
        )
        return {pid: np.asarray(values, dtype=np.float32) for pid, values in cursor.fetchall()}


def embedded_image_shas(
    *, version: ModelVersion, image_ids: Sequence[int] | None = None
) -> dict[int, str]:
    """image id → content hash each stored vector was computed from (for --only-missing): of
    every image, or of these."""
    rows = ImageEmbedding.objects.filter(model_version=version)
    if image_ids is not None:
        rows = rows.filter(image_id__in=image_ids)
    return dict(rows.values_list("image_id", "image_sha256"))


def products_changed_since_their_vectors(*, version: ModelVersion) -> list[int]:
    """Products whose vector under this version is behind them: saved (their words, their
    photos) after it was written, or holding another number of photos with a vector than it
    was computed from (a photo removed: its vector went with its row, the mean stayed).
    Changes follow the active version only, so a version back in service is behind on them."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT vectors.product_id FROM similarity_productembedding vectors "
            "JOIN catalog_product product ON product.id = vectors.product_id "
            "WHERE vectors.model_version_id = %s AND (product.updated_at > vectors.updated_at "
            "OR vectors.image_count <> (SELECT count(*) FROM similarity_imageembedding photo "
            "JOIN catalog_productimage image ON image.id = photo.image_id "
            "WHERE photo.model_version_id = %s AND image.product_id = vectors.product_id)) "
            "ORDER BY vectors.product_id",
            [version.pk, version.pk],
        )
        return [row[0] for row in cursor.fetchall()]
