"""A sequence version's item vectors served from pgvector: stored when it is activated, searched
through its HNSW index with the same answer as the exact NumPy product; a version not stored yet
(trained before) serves from its file until `manage.py sequence_vectors` stores it."""

import dataclasses
import io

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from behaviour.models import SequenceItemVector, SequenceModelVersion
from behaviour.selectors.recommendations import history_of, recommended_for_visitor
from behaviour.selectors.recommendations.history import HistoryEvent
from behaviour.selectors.recommendations.sequence import sequence_signal, serving_model
from behaviour.services.ingest import events_record
from behaviour.services.sequence import (
    sequence_training_job_run,
    sequence_training_start,
    sequence_version_activate,
    sequence_version_delete,
)
from similarity import vector_store
from similarity.selectors import SimilarQuery
from tests.behaviour.sequence_factories import SKUS, planted, sequence_catalogue
from tests.behaviour.sequence_factories import TINY as SHARED_TINY

# Committed rows: the training job's heartbeat thread reads them on its own connection.
pytestmark = pytest.mark.django_db(transaction=True)

TINY = dataclasses.replace(SHARED_TINY, seed=3)


@pytest.fixture
def version(settings, tmp_path) -> SequenceModelVersion:
    """A tiny GRU trained on the planted pattern and activated (it beats no active version)."""
    sequence_catalogue(settings, tmp_path)
    outcomes = events_record(items=planted(60, days_ago=60) + planted(20, days_ago=5))
    assert {outcome.status for outcome in outcomes} == {"accepted"}
    job = sequence_training_start(config=TINY, enqueue=False)
    job = sequence_training_job_run(job_id=job.pk)
    return SequenceModelVersion.objects.get(pk=job.version_id, status="active")


def viewed(sku: str) -> None:
    item = {"event_id": f"now-{sku}", "kind": "view", "sku": sku, "visitor_id": "newcomer"}
    events_record(items=[{**item, "occurred_at": timezone.now().isoformat()}])


def as_if_trained_before(version: SequenceModelVersion) -> None:
    SequenceItemVector.objects.filter(version=version).delete()
    SequenceModelVersion.objects.filter(pk=version.pk).update(vectors_stored_at=None)
    version.refresh_from_db()


def test_activation_stores_every_item_vector_of_the_file_with_its_hnsw_index(version):
    with np.load(version.vectors_path) as stored:
        product_ids, vectors = stored["product_ids"], stored["vectors"]
    rows = dict(
        SequenceItemVector.objects.filter(version=version).values_list("product_id", "vector")
    )
    model = serving_model()

    assert version.vectors_stored_at is not None
    assert sorted(rows) == sorted(product_ids.tolist()) and len(rows) == len(SKUS)
    for pid, vector in zip(product_ids, vectors, strict=True):
        np.testing.assert_array_equal(np.asarray(rows[int(pid)], np.float32), vector)
    plan = vector_store.item_vectors_explain(model.stored, vector=np.ones(TINY.dim), k=5)
    assert f"Index Scan using {model.stored.index_name}" in plan


def test_the_index_answers_as_the_exact_product_and_explains_it(version):
    lantern = product_id("LANTERN")
    history = history_of([HistoryEvent(lantern, "view", timezone.now())])
    from_index = serving_model()
    with np.load(version.vectors_path) as stored:
        from_file = dataclasses.replace(from_index, stored=None, vectors=stored["vectors"])

    indexed = sequence_signal(history, from_index, exclude={lantern}, n=5)
    exact = sequence_signal(history, from_file, exclude={lantern}, n=5)

    assert ranked(indexed) == ranked(exact) and len(indexed.scores) == 5
    for pid, value in exact.scores.items():
        assert indexed.scores[pid] == pytest.approx(value, rel=1e-5)
    assert set(indexed.because.values()) == {lantern}
    viewed("LANTERN")
    first = recommended_for_visitor(visitor_id="newcomer", query=SimilarQuery(k=3)).items[0]
    assert (first.product.sku, first.why) == ("TEALIGHT", "Because you viewed Lantern")


def test_excluded_products_never_come_from_the_index(version):
    lantern, tealight = product_id("LANTERN"), product_id("TEALIGHT")
    history = history_of([HistoryEvent(lantern, "view", timezone.now())])

    signal = sequence_signal(history, serving_model(), exclude={lantern, tealight}, n=20)

    assert tealight not in signal.scores and lantern not in signal.scores
    assert len(signal.scores) == len(SKUS) - 2


def test_a_version_trained_before_serves_from_its_file_until_the_command_stores_it(version):
    as_if_trained_before(version)
    viewed("LANTERN")
    before = serving_model()
    first_before = recommended_for_visitor(visitor_id="newcomer", query=SimilarQuery(k=1))
    out = io.StringIO()

    call_command("sequence_vectors", stdout=out)

    after = serving_model()
    first_after = recommended_for_visitor(visitor_id="newcomer", query=SimilarQuery(k=1))
    assert (before.stored, before.vectors.shape) == (None, (len(SKUS), TINY.dim))
    assert out.getvalue() == f"sequence version {version.pk}: stored {len(SKUS)} item vectors\n"
    assert (after.stored.owner, after.vectors) == (version.pk, None)
    assert [i.product.sku for i in first_before.items] == ["TEALIGHT"]
    assert [i.product.sku for i in first_after.items] == ["TEALIGHT"]
    call_command("sequence_vectors", stdout=(again := io.StringIO()))
    assert again.getvalue() == "Every trained sequence version's vectors are stored.\n"


def test_an_ab_candidate_is_indexed_when_trained_without_being_activated(version):
    job = sequence_training_start(config=TINY, auto_activate=False, enqueue=False)
    candidate = SequenceModelVersion.objects.get(
        pk=sequence_training_job_run(job_id=job.pk).version_id
    )

    served = serving_model(version=candidate)

    assert (candidate.status, candidate.vectors_stored_at is not None) == ("ready", True)
    assert (served.stored.owner, served.vectors) == (candidate.pk, None)  # from its HNSW index
    assert serving_model().version_id == version.pk  # the active one still serves the rest


def product_id(sku: str) -> int:
    from catalog.models import Product

    return Product.objects.get(sku=sku).pk


def ranked(signal) -> list[int]:
    return sorted(signal.scores, key=lambda pid: (-signal.scores[pid], pid))


@pytest.mark.parametrize(
    ("status", "path", "message"),
    [
        (
            "queued",
            "",
            "sequence version {pk} is queued: only trained versions' vectors are stored",
        ),
        ("ready", "", "sequence version {pk} has no vectors file to store"),
        ("ready", "/nonexistent/vectors.npz", "No such file or directory"),
    ],
)
def test_the_command_refuses_a_version_it_cannot_store_with_the_reason(status, path, message):
    version = SequenceModelVersion.objects.create(
        architecture="gru", status=status, vectors_path=path
    )

    with pytest.raises(CommandError, match=message.format(pk=version.pk)):
        call_command("sequence_vectors", "--version-id", str(version.pk))
    with pytest.raises(CommandError, match="no sequence version 0"):
        call_command("sequence_vectors", "--version-id", "0")
    assert not SequenceItemVector.objects.exists()


def test_a_deleted_version_leaves_neither_its_rows_nor_its_index(version):
    """The index is partial on the version's rows: the cascade empties it, only a drop ends it
    (an index per deleted version would otherwise stay, checked on every write of the table)."""
    stored = serving_model().stored
    other = SequenceModelVersion.objects.create(architecture="gru", status="ready")
    sequence_version_activate(version=other)

    sequence_version_delete(version=version)

    assert not SequenceItemVector.objects.filter(version_id=stored.owner).exists()
    assert not index_exists(stored.index_name), "the deleted version's HNSW index was left"


def index_exists(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_class WHERE relname = %s", [name])
        return cursor.fetchone() is not None


def test_a_store_under_way_elsewhere_is_left_to_finish_not_done_twice(version):
    """The training stores its new version's vectors (an index built CONCURRENTLY, tens of
    seconds); an admin activating the version meanwhile stored them too: it deleted the
    training's rows and dropped its index mid-build, and a store killed then left the version
    marked stored with an invalid index, every search a scan."""
    import threading

    from django.db import connections

    from behaviour.services.sequence.vectors import sequence_vectors_store
    from core.locks import SEQUENCE_VECTOR_STORES

    as_if_trained_before(version)
    storing, done = threading.Event(), threading.Event()

    def the_training_storing():
        try:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_advisory_lock(%s, %s)", [SEQUENCE_VECTOR_STORES, version.pk]
                )
                storing.set()
                done.wait(30)
                cursor.execute(
                    "SELECT pg_advisory_unlock(%s, %s)", [SEQUENCE_VECTOR_STORES, version.pk]
                )
        finally:
            connections.close_all()

    other = threading.Thread(target=the_training_storing)
    other.start()
    assert storing.wait(30)
    try:
        written_beside = sequence_vectors_store(version=version)
    finally:
        done.set()
    other.join(30)

    assert written_beside == 0 and not SequenceItemVector.objects.filter(version=version).exists()
    assert SequenceModelVersion.objects.get(pk=version.pk).vectors_stored_at is None
    assert sequence_vectors_store(version=version) > 0  # once the other is done: stored here
