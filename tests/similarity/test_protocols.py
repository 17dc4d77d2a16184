"""The two evaluation protocols and the refit in the pipeline, on a tiny catalogue of photos
where each product has several shots (real TensorFlow, PostgreSQL, pgvector)."""

from io import StringIO

import pytest
from django.core.management import call_command

from catalog.models import ProductImage
from similarity.ml.evaluation.protocols import KNOWN_PRODUCTS, NEW_PRODUCTS
from similarity.ml.training import train
from similarity.services import protocols, refits
from similarity.services.datasets import catalogue_snapshot
from similarity.services.evaluation import ERROR_REFIT
from tests.catalog.factories import shape_catalogue
from tests.similarity.factories import TINY, train_tiny

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("models_root")]


@pytest.fixture(autouse=True)
def photos_are_not_near_duplicates(monkeypatch):
    # The tiny recipe's random small CNN sees every photo as a near-duplicate of every other
    # (cosine ≈ 1), so nothing could be held out; the threshold's own behaviour is tested on
    # chosen vectors in tests/similarity/ml/test_protocols.py.
    monkeypatch.setattr(protocols, "NEAR_DUPLICATE_COSINE", 1.01)


def shots_catalogue() -> None:
    """8 variant groups of 3 products with 4 photos each (96 photos)."""
    shape_catalogue(groups_per_shape=2, colours=3, images_per_product=4)


def test_known_products_photos_are_held_out_within_products_that_stay_in_training():
    shots_catalogue()

    version, job = train_tiny(label_source="auto")

    data = version.dataset
    assert job.state == "succeeded"
    held_out = set(data["known_test_image_ids"]) | set(data["known_val_image_ids"])
    new_products = set(data["test_image_ids"]) | set(data["val_image_ids"])
    assert held_out and not held_out & new_products
    images = ProductImage.objects.all()
    product_of = dict(images.values_list("pk", "product_id"))
    group_of = dict(images.values_list("pk", "product__group_id"))
    # Every held-out photo's variant group keeps photos in training (it is known) ...
    trained_groups = {group_of[pk] for pk in product_of if pk not in held_out | new_products}
    assert {group_of[pk] for pk in held_out} <= trained_groups
    # ... while new-products photos are of groups with no photo in training.
    assert not {group_of[pk] for pk in new_products} & trained_groups
    assert set(version.metrics["protocols"]) == {KNOWN_PRODUCTS, NEW_PRODUCTS}
    known = version.metrics["protocols"][KNOWN_PRODUCTS]["model"]
    assert known["queries"] == len(data["known_test_image_ids"])
    assert version.metrics["evaluation"]["protocol"] == KNOWN_PRODUCTS  # the default setting


def test_the_protocol_setting_decides_which_figures_auto_activation_reads(settings):
    shots_catalogue()
    settings.PRODSIM_EVALUATION_PROTOCOL = NEW_PRODUCTS

    version, _ = train_tiny(label_source="auto")

    assert version.metrics["evaluation"]["protocol"] == NEW_PRODUCTS
    assert version.metrics["model"] == version.metrics["protocols"][NEW_PRODUCTS]["model"]


def test_without_refit_the_figures_are_the_served_models_own():
    shots_catalogue()

    version, job = train_tiny(label_source="auto", refit_on_all=False)

    assert job.state == "succeeded"
    assert version.metrics["evaluation"] == {
        "protocol": KNOWN_PRODUCTS,
        "figures_from": "served model",
        "served_protocols": [KNOWN_PRODUCTS, NEW_PRODUCTS],
        "refit_on_all": False,
    }
    assert "refit_s" not in version.timings


def test_a_refit_without_the_queries_is_scored_then_the_served_one_trains_on_every_photo(
    monkeypatch,
):
    shots_catalogue()
    trained_on, scored_by = [], []
    score = protocols.served_known_products

    def recording_train(config, *, images, validation, **arguments):
        result = train(config, images=images, validation=validation, **arguments)
        trained_on.append((len(images), validation is None, result.model))
        return result

    def recording_scoring(*, model, **arguments):
        scored_by.append(model)
        return score(model=model, **arguments)

    monkeypatch.setattr(refits, "train", recording_train)
    monkeypatch.setattr(protocols, "served_known_products", recording_scoring)

    version, job = train_tiny(label_source="auto")  # refit on every product: the default

    assert job.state == "succeeded"
    queries = set(version.dataset["known_test_image_ids"])
    photos = ProductImage.objects.count()
    # Selection, a refit without the known-products queries (scored on them), then the served
    # refit on every photo; neither refit validates.
    (_, *_), (scored_on, unvalidated, scored_model), (served_on, unvalidated_too, _) = trained_on
    assert (scored_on, served_on, unvalidated, unvalidated_too) == (
        photos - len(queries),
        photos,
        True,
        True,
    )
    assert scored_by == [scored_model]
    assert version.metrics["evaluation"] == {
        "protocol": KNOWN_PRODUCTS,
        "figures_from": "refit without the query photos",
        "served_protocols": [KNOWN_PRODUCTS],
        "refit_on_all": True,
    }
    stored = version.metrics
    out = StringIO()

    call_command("evaluate", model_version=version.pk, stdout=out)

    # The served model trained on every held-out photo: `evaluate` shows what training measured.
    printed = out.getvalue()
    assert printed.splitlines()[0] == ERROR_REFIT.format(pk=version.pk)
    assert f"{KNOWN_PRODUCTS} ({len(queries)} queries; figures of the refit without" in printed
    assert f"{NEW_PRODUCTS} (" in printed and "figures of the selection run)" in printed
    version.refresh_from_db()
    assert version.metrics == stored


def test_two_refits_from_their_own_seeds_are_scored_and_served_side_by_side(monkeypatch):
    shots_catalogue()
    trained, scored_by = [], []
    score = protocols.served_known_products

    def recording_train(config, *, images, **arguments):
        result = train(config, images=images, **arguments)
        trained.append((len(images), config.seed, arguments["checkpoint_dir"].name))
        return result

    def recording_scoring(*, model, **arguments):
        scored_by.append(model.output.shape[-1])
        return score(model=model, **arguments)

    monkeypatch.setattr(refits, "train", recording_train)
    monkeypatch.setattr(protocols, "served_known_products", recording_scoring)

    version, job = train_tiny(label_source="auto", refit_models=2)

    assert job.state == "succeeded"
    photos = ProductImage.objects.count()
    unscored = photos - len(version.dataset["known_test_image_ids"])
    assert trained[1:] == [
        (unscored, 1234, "refit-scored"),
        (unscored, 1235, "refit-scored-2"),
        (photos, 1234, "refit"),
        (photos, 1235, "refit-2"),
    ]
    # The version page's figure is the two scored refits side by side, as the served pair.
    assert scored_by == [2 * TINY["embedding_dim"]]
    assert version.vector_dim == 2 * TINY["embedding_dim"]
    assert version.metrics["evaluation"]["figures_from"] == "refit without the query photos"


def test_new_products_split_is_group_disjoint():
    shots_catalogue()

    snapshot = catalogue_snapshot(label_source="auto", seed=7)

    def groups(split):
        return {record.group_id for record in snapshot.records[split]}

    assert groups("test") and groups("val")
    assert not groups("test") & (groups("train") | groups("val"))
    assert not groups("val") & groups("train")
