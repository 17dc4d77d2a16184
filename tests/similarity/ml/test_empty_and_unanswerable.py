"""The ml edge cases a tiny or plain catalogue reaches: an empty split to embed, and held-out
photos none of which has a photo of its label to find."""

import numpy as np
import pytest

from similarity.ml.backbones import build_backbone, build_embedding_model
from similarity.ml.evaluation import ERR_NO_RELEVANT, answerable_queries, retrieval_metrics
from similarity.ml.training import embed_arrays


@pytest.fixture(scope="module")
def small_cnn():
    backbone = build_backbone("small_cnn", input_size=32, weights="none")
    return backbone, build_embedding_model(backbone, embedding_dim=8)


def test_embedding_no_images_gives_an_empty_array_of_the_models_width(small_cnn):
    backbone, embedding_model = small_cnn
    none = np.zeros((0, 32, 32, 3), np.uint8)

    frozen, embedded = embed_arrays(backbone.model, none), embed_arrays(embedding_model, none)

    assert (frozen.shape, frozen.dtype) == ((0, backbone.model.output_shape[-1]), np.float32)
    assert (embedded.shape, embedded.dtype) == ((0, 8), np.float32)


def test_embedding_no_images_with_a_wrapped_artifact_asks_one_blank_image_for_the_width(
    small_cnn,
):
    _, embedding_model = small_cnn
    calls = []

    def wrapped(images, training=False):  # like evaluation's _EmbedderModel: no output_shape
        calls.append(images.shape)
        return embedding_model(images, training=training)

    vectors = embed_arrays(wrapped, np.zeros((0, 32, 32, 3), np.uint8))

    assert vectors.shape == (0, 8)
    assert calls == [(1, 32, 32, 3)]


@pytest.mark.parametrize(
    ("queries", "gallery", "exclude_self", "expected"),
    [
        (["a", "b"], ["b", "c", "b"], False, 1),
        (["a", "b"], ["c", "d"], False, 0),
        ([], ["a"], False, 0),
        # leave-one-out: a query is not its own relevant item
        (["a", "b", "c"], ["a", "b", "c"], True, 0),
        (["a", "b", "a"], ["a", "b", "a", "b"], True, 3),
    ],
)
def test_answerable_queries_counts_the_queries_with_a_relevant_gallery_item(
    queries, gallery, exclude_self, expected
):
    assert answerable_queries(queries, gallery, exclude_self=exclude_self) == expected


def test_answerable_queries_is_zero_exactly_where_retrieval_metrics_raises():
    vectors = np.eye(3)
    labels = ["a", "b", "c"]  # one photo per product: nothing to find

    assert answerable_queries(labels, labels, exclude_self=True) == 0
    with pytest.raises(ValueError, match=ERR_NO_RELEVANT):
        retrieval_metrics(vectors, labels, vectors, labels, exclude_self=True)
