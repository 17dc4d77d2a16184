"""Vector writes: image vectors, the product vectors derived from them, text-tower vectors
(lexical vectors: lexical.py)."""

from collections.abc import Iterable, Sequence

import numpy as np
from django.db import connection, transaction

from similarity.ml.validation import MIN_EMBEDDING_NORM, validate_embeddings

from ..models import ModelVersion
from .sql import expression, vector_literal


def image_embeddings_upsert(
    *, version: ModelVersion, image_ids: Sequence[int], shas: Sequence[str], vectors: np.ndarray
) -> int:
    """Insert or replace the vectors of these images for this version (validated first); returns
    how many were written.

    Only images that still exist are written: a run reads its image ids before it decodes them,
    and a product deleted or re-photographed meanwhile takes its image rows with it. Their vectors
    are skipped in the same statement (the join, with each kept row locked against deletion until
    the write commits) rather than failing the foreign key and with it the whole run."""
    validate_embeddings(vectors, dim=version.vector_dim)
    literals = [vector_literal(vector) for vector in vectors]
    if not len(image_ids) == len(shas) == len(literals):
        raise ValueError("one sha256 and one vector per image id")
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO similarity_imageembedding
                (model_version_id, image_id, image_sha256, embedding, created_at)
            SELECT %s, image.id, given.sha256, given.embedding::vector, now()
            FROM unnest(%s::bigint[], %s::text[], %s::text[])
                AS given(image_id, sha256, embedding)
            JOIN catalog_productimage image ON image.id = given.image_id
            FOR KEY SHARE OF image
            ON CONFLICT (model_version_id, image_id) DO UPDATE
            SET embedding = EXCLUDED.embedding, image_sha256 = EXCLUDED.image_sha256
            """,
            [version.pk, list(image_ids), list(shas), literals],
        )
        return cursor.rowcount


def product_embeddings_refresh(*, version: ModelVersion, product_ids: Iterable[int]) -> None:
    """Recompute product vectors as the re-normalised mean of their images' vectors, in SQL.

    Products whose images all disappeared lose their vector for this version, and so do those
    whose image vectors cancel out: a mean without direction has a NaN cosine to everything.
    """
    ids = list(product_ids)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO similarity_productembedding
                (model_version_id, product_id, embedding, image_count, updated_at)
            SELECT %s, image.product_id, l2_normalize(avg({expression(version)})), count(*), now()
            FROM similarity_imageembedding embedding
            JOIN catalog_productimage image ON image.id = embedding.image_id
            WHERE embedding.model_version_id = %s AND image.product_id = ANY(%s)
            GROUP BY image.product_id
            HAVING vector_norm(avg({expression(version)})) >= %s
            ON CONFLICT (model_version_id, product_id) DO UPDATE
            SET embedding = EXCLUDED.embedding, image_count = EXCLUDED.image_count,
                updated_at = EXCLUDED.updated_at
            RETURNING product_id
            """,
            [version.pk, version.pk, ids, MIN_EMBEDDING_NORM],
        )
        kept = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "DELETE FROM similarity_productembedding WHERE model_version_id = %s "
            "AND product_id = ANY(%s) AND NOT product_id = ANY(%s)",
            [version.pk, ids, kept],
        )


def product_text_embeddings_set(
    *, version: ModelVersion, product_ids: Sequence[int], vectors: np.ndarray
) -> None:
    """Store the text tower's vectors (in the image space of the version) on product rows."""
    validate_embeddings(vectors, dim=version.vector_dim)
    with connection.cursor() as cursor:
        cursor.executemany(
            "UPDATE similarity_productembedding SET text_embedding = %s::vector "
            "WHERE model_version_id = %s AND product_id = %s",
            [
                (vector_literal(vector), version.pk, product_id)
                for product_id, vector in zip(product_ids, vectors, strict=True)
            ],
        )


def version_vectors_delete(*, version: ModelVersion) -> None:
    """Drop every image and product vector of this version (a retrained model's vectors would be
    compared with them otherwise)."""
    with transaction.atomic(), connection.cursor() as cursor:
        for table in ("similarity_productembedding", "similarity_imageembedding"):
            cursor.execute(f"DELETE FROM {table} WHERE model_version_id = %s", [version.pk])
