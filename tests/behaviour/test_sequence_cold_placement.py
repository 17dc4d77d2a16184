"""A product added after the sequence model trained is placed by its content alone (its image
vector, its title's lexical sketch), as training placed its own products without events, and
becomes a candidate of the sequence signal without a retraining: on the behaviour refresh, or by
`manage.py sequence_vectors`."""

import dataclasses
import io

import numpy as np
import pytest
from django.core.management import call_command
from django.utils import timezone

from behaviour.ml.sequence import artifacts
from behaviour.ml.sequence.serving import SequenceScorer
from behaviour.models import SequenceItemVector, SequenceModelVersion
from behaviour.selectors.recommendations import history_of
from behaviour.selectors.recommendations.history import HistoryEvent
from behaviour.selectors.recommendations.sequence import sequence_signal, serving_model
from behaviour.services.ingest import events_record
from behaviour.services.sequence import sequence_training_job_run, sequence_training_start
from behaviour.services.sequence.content import ContentSource
from behaviour.tasks import behaviour_refresh_task
from catalog.models import ProductImage
from similarity import vector_store
from similarity.ml.lexical.sketch import SKETCH_DIMENSIONS
from tests.behaviour.sequence_factories import SKUS, TINY, planted
from tests.catalog.factories import product
from tests.similarity.vector_store.factories import store, unit
from tests.similarity.vector_store.factories import version as image_version

# Committed rows: the training job's heartbeat thread reads them on its own connection.
pytestmark = pytest.mark.django_db(transaction=True)

WITH_CONTENT = dataclasses.replace(TINY, use_content=True, seed=5)
DIM = 4


def with_image(sku: str, number: int):
    made = product(sku=sku, title=sku.title())
    ProductImage.objects.create(
        product=made, file=f"products/{sku}.jpg", sha256=f"{number:064}", width=1, height=1
    )
    return made


@pytest.fixture
def trained(settings, tmp_path):
    """(sequence version, image version): a tiny GRU with a content part, trained on the
    planted pattern over products that all have an image vector, and activated."""
    settings.PRODSIM_MODELS_ROOT = tmp_path / "models"
    images = image_version(DIM, status="active")
    rng = np.random.default_rng(0)
    made = [with_image(sku, number) for number, sku in enumerate(SKUS)]
    store(images, made, [unit(*rng.normal(size=DIM)) for _ in made])
    outcomes = events_record(items=planted(60, days_ago=60) + planted(20, days_ago=5))
    assert {outcome.status for outcome in outcomes} == {"accepted"}
    job = sequence_training_job_run(
        job_id=sequence_training_start(config=WITH_CONTENT, enqueue=False).pk
    )
    version = SequenceModelVersion.objects.get(pk=job.version_id, status="active")
    assert version.dataset["content_version"] == images.pk
    return version, images


def test_a_product_added_later_gets_its_content_projection_and_becomes_a_candidate(trained):
    version, images = trained
    content = unit(1, 2, 3, 4)
    newcomer = with_image("NEW-LANTERN", 100)
    store(images, [newcomer], [content])
    with_image("NO-VECTOR-YET", 101)  # not embedded: nothing to place it by
    hidden = with_image("RETIRED", 102)
    store(images, [hidden], [content])
    hidden.is_active = False
    hidden.save()

    behaviour_refresh_task.apply()

    rows = dict(SequenceItemVector.objects.filter(version=version).values_list("product", "vector"))
    weights, config = artifacts.load(version.artifact_path)
    expected = SequenceScorer(weights, config).item_vectors(content[None], known=np.zeros(1, bool))
    assert len(rows) == len(SKUS) + 1 and hidden.pk not in rows
    np.testing.assert_allclose(np.asarray(rows[newcomer.pk]), expected[0], rtol=1e-6)
    history = history_of([HistoryEvent(_pk("LANTERN"), "view", timezone.now())])
    signal = sequence_signal(history, serving_model(), exclude=set(), n=len(SKUS) + 5)
    assert newcomer.pk in signal.scores and hidden.pk not in signal.scores


def test_placing_again_adds_nothing_and_the_command_says_what_it_placed(trained):
    version, images = trained
    newcomer = with_image("NEW-MUG", 100)
    store(images, [newcomer], [unit(0, 1, 0, 1)])
    out = io.StringIO()

    call_command("sequence_vectors", stdout=out)
    call_command("sequence_vectors", stdout=(again := io.StringIO()))

    assert f"sequence version {version.pk}: placed 1 new products by content" in out.getvalue()
    assert "placed" not in again.getvalue()
    assert SequenceItemVector.objects.filter(version=version, product=newcomer).count() == 1


def test_a_version_without_a_content_part_places_nothing(trained):
    _, images = trained
    job = sequence_training_start(config=TINY, auto_activate=False, enqueue=False)
    plain = SequenceModelVersion.objects.get(pk=sequence_training_job_run(job_id=job.pk).version_id)
    newcomer = with_image("NEW-SAUCER", 100)
    store(images, [newcomer], [unit(1, 0, 0, 0)])

    behaviour_refresh_task.apply()

    assert not SequenceItemVector.objects.filter(version=plain, product=newcomer).exists()
    assert SequenceItemVector.objects.filter(version=trained[0], product=newcomer).exists()


def _pk(sku: str) -> int:
    from catalog.models import Product

    return Product.objects.get(sku=sku).pk


def test_a_shop_without_photos_trains_and_places_new_products_by_their_titles(settings, tmp_path):
    from similarity.services.lexical import lexical_index_rebuild, product_texts_refresh

    settings.PRODSIM_MODELS_ROOT = tmp_path / "models"
    for sku in SKUS:
        product(sku=sku, title=f"{sku.title()} in glazed stoneware")
    index = lexical_index_rebuild()
    events_record(items=planted(60, days_ago=60) + planted(20, days_ago=5))
    job = sequence_training_job_run(
        job_id=sequence_training_start(config=WITH_CONTENT, enqueue=False).pk
    )
    version = SequenceModelVersion.objects.get(pk=job.version_id, status="active")
    newcomer = product(sku="NEW-LANTERN", title="Lantern in glazed stoneware, large")
    product_texts_refresh(product_ids=[newcomer.pk])

    behaviour_refresh_task.apply()

    assert version.dataset["content_dims"] == {"image": 0, "text": SKETCH_DIMENSIONS}
    assert (version.dataset["content_version"], version.dataset["content_text_index"]) == (
        None,
        index.pk,
    )
    sketch = vector_store.product_sketches_for(index_pk=index.pk, product_ids=[newcomer.pk])
    weights, config = artifacts.load(version.artifact_path)
    expected = SequenceScorer(weights, config).item_vectors(
        sketch[newcomer.pk][None], known=np.zeros(1, bool)
    )
    placed = SequenceItemVector.objects.get(version=version, product=newcomer).vector
    np.testing.assert_allclose(np.asarray(placed), expected[0], rtol=1e-5, atol=1e-7)
    assert np.abs(expected).sum() > 0


@pytest.fixture
def trained_on_photos_and_words(settings, tmp_path):
    """(sequence version, image version): as `trained`, with the titles' lexical index too."""
    from similarity.services.lexical import lexical_index_rebuild

    settings.PRODSIM_MODELS_ROOT = tmp_path / "models"
    images = image_version(DIM, status="active")
    rng = np.random.default_rng(0)
    made = [with_image(sku, number) for number, sku in enumerate(SKUS)]
    store(images, made, [unit(*rng.normal(size=DIM)) for _ in made])
    lexical_index_rebuild()
    events_record(items=planted(60, days_ago=60) + planted(20, days_ago=5))
    job = sequence_training_job_run(
        job_id=sequence_training_start(config=WITH_CONTENT, enqueue=False).pk
    )
    version = SequenceModelVersion.objects.get(pk=job.version_id, status="active")
    assert version.dataset["content_dims"] == {"image": DIM, "text": SKETCH_DIMENSIONS}
    return version, images


def test_a_new_product_with_a_photo_waits_for_its_photos_vector_to_be_placed(
    trained_on_photos_and_words,
):
    """Its words are stored within seconds, its photo's vector on the ml worker (behind a
    training, perhaps): placed by its words alone, it stayed so until the next training."""
    from similarity.services.lexical import product_texts_refresh

    version, images = trained_on_photos_and_words
    with_photo = with_image("NEW-LANTERN", 100)
    without = product(sku="NEW-GIFT-CARD", title="Gift card")  # no photo: nothing to wait for
    product_texts_refresh(product_ids=[with_photo.pk, without.pk])

    behaviour_refresh_task.apply()
    placed = set(
        SequenceItemVector.objects.filter(version=version).values_list("product", flat=True)
    )
    store(images, [with_photo], [unit(1, 2, 3, 4)])  # its photo is embedded now
    behaviour_refresh_task.apply()

    assert without.pk in placed and with_photo.pk not in placed
    row = SequenceItemVector.objects.get(version=version, product=with_photo)
    weights, config = artifacts.load(version.artifact_path)
    content, found = ContentSource.trained_with(version).vectors(np.array([with_photo.pk]))
    assert found.all() and np.abs(content[0][:DIM]).sum() > 0  # its photo's part is in
    expected = SequenceScorer(weights, config).item_vectors(content, known=np.zeros(1, bool))
    np.testing.assert_allclose(np.asarray(row.vector), expected[0], rtol=1e-5, atol=1e-7)
