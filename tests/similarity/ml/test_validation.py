"""similarity.ml.validation: embeddings are checked before they are stored or searched with."""

import numpy as np
import pytest

from similarity.ml.validation import (
    ERR_EMBEDDING_INF,
    ERR_EMBEDDING_NAN,
    ERR_EMBEDDING_ZERO,
    ERR_EMBEDDINGS_DTYPE,
    ERR_EMBEDDINGS_SHAPE,
    InvalidEmbeddings,
    validate_embeddings,
)


def test_validate_embeddings_accepts_finite_non_zero_rows():
    assert (
        validate_embeddings(np.array([[0.0, 1e-3], [5.0, -2.0]], dtype=np.float32), dim=2) is None
    )
    assert validate_embeddings(np.zeros((0, 2), dtype=np.float32), dim=2) is None


@pytest.mark.parametrize(
    ("vectors", "message"),
    [
        (np.ones((3, 4)), ERR_EMBEDDINGS_SHAPE.format(dim=2, shape=(3, 4))),
        (np.ones(2), ERR_EMBEDDINGS_SHAPE.format(dim=2, shape=(2,))),
        (np.ones((3, 2), dtype=np.int32), ERR_EMBEDDINGS_DTYPE.format(dtype="int32")),
        (np.array([[1.0, 0], [1, 1], [np.nan, 1]]), ERR_EMBEDDING_NAN.format(row=2)),
        (np.array([[1.0, 0], [np.inf, 1], [np.nan, 1]]), ERR_EMBEDDING_INF.format(row=1)),
        (np.array([[1.0, -np.inf]]), ERR_EMBEDDING_INF.format(row=0)),
        (
            np.array([[1.0, 1], [1, 1], [1, 1], [0, 1e-7]], dtype=np.float32),
            ERR_EMBEDDING_ZERO.format(row=3, norm=1e-7),
        ),
    ],
)
def test_validate_embeddings_names_the_first_bad_row(vectors, message):
    with pytest.raises(InvalidEmbeddings) as raised:
        validate_embeddings(vectors, dim=2)

    assert str(raised.value) == message
