"""Index builds that go wrong: a cancelled CREATE INDEX CONCURRENTLY is detected and rebuilt; a
training that fails or is cancelled after indexing leaves no index and the active version serving.
"""

import threading

import psycopg
import pytest
from django.db import connection

from similarity import vector_store
from similarity.models import Job
from similarity.selectors.similar import SimilarQuery, similar_products_for
from similarity.services import model_version_activate, model_version_create
from similarity.services.pipeline import job_run
from similarity.services.reembed import reembed
from tests.catalog.factories import shape_catalogue
from tests.processes import database_url_for_subprocess
from tests.similarity.factories import TINY

from .factories import tiny_version
from .processes import wait_until

BUILDS = {
    "image": (vector_store.hnsw_index_build, vector_store.index_name),
    "text": (vector_store.text_hnsw_index_build, vector_store.text_index_name),
}


def index_valid(name: str) -> bool | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)", [name])
        row = cursor.fetchone()
    return None if row is None else row[0]


def waiting_build_pid(name: str) -> int | None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND query LIKE %s AND wait_event_type = 'Lock'",
            [f"CREATE INDEX CONCURRENTLY %{name} %"],
        )
        row = cursor.fetchone()
    return row[0] if row else None


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", list(BUILDS))
def test_a_cancelled_concurrent_build_leaves_an_invalid_index_that_is_rebuilt(kind, tiny_artifact):
    build, name_of = BUILDS[kind]
    shape_catalogue(colours=1)
    version = tiny_version(tiny_artifact)
    reembed(version=version, only_missing=False)
    name = name_of(version)
    errors = []

    def build_in_thread():
        try:
            build(version=version)
        except Exception as exc:  # the cancellation, checked below
            errors.append(exc)
        finally:
            connection.close()

    # An open writing transaction makes CREATE INDEX CONCURRENTLY wait after it has already
    # entered the index in the catalogue; cancelling it there is an interrupted build.
    with psycopg.connect(database_url_for_subprocess()) as writer:
        writer.execute("UPDATE similarity_productembedding SET image_count = image_count")
        thread = threading.Thread(target=build_in_thread)
        thread.start()
        pid = wait_until(lambda: waiting_build_pid(name), timeout=30, what="build waiting")
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_cancel_backend(%s)", [pid])
        thread.join(timeout=30)
        writer.rollback()

    assert "canceling statement due to user request" in str(errors[0])
    assert index_valid(name) is False

    build(version=version)

    assert index_valid(name) is True
    if kind == "image":
        assert vector_store.hnsw_index_exists(version=version) is True
        plan = vector_store.explain_nearest(version=version, vector=[1.0] + [0.0] * 7, k=2)
        assert f"Index Scan using {name}" in plan


def build_then_crash(*, version, test_image_ids):
    vector_store.text_hnsw_index_build(version=version)
    raise RuntimeError("text tower crashed")


def build_then_cancel(*, version, test_image_ids):
    vector_store.text_hnsw_index_build(version=version)
    Job.objects.filter(model_version=version).update(cancel_requested=True)
    from core.jobs import JobCancelled

    raise JobCancelled()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("text_tower", "state", "error"),
    [
        (build_then_crash, "failed", "RuntimeError: text tower crashed"),
        (build_then_cancel, "cancelled", "cancelled by an admin"),
    ],
)
def test_a_training_ended_after_indexing_leaves_no_index_and_the_active_version_serving(
    text_tower, state, error, settings, tmp_path, tiny_artifact, monkeypatch
):
    settings.PRODSIM_MODELS_ROOT = tmp_path / "models"
    products = shape_catalogue(groups_per_shape=2, colours=3)
    active = tiny_version(tiny_artifact)
    reembed(version=active, only_missing=False)
    vector_store.hnsw_index_build(version=active)
    model_version_activate(version=active)
    query = SimilarQuery(k=5)
    before = {p.pk: similar_products_for(product=p, query=query).items for p in products}
    monkeypatch.setattr("similarity.services.pipeline.text_tower_train", text_tower)
    version = model_version_create(enqueue=False, **TINY)

    job = job_run(job_id=version.jobs.get().pk, max_attempts=3)

    version.refresh_from_db()
    active.refresh_from_db()
    assert (job.state, job.error, version.status, active.status) == (
        state,
        error,
        "failed",
        "active",
    )
    assert index_valid(vector_store.index_name(version)) is None
    assert index_valid(vector_store.text_index_name(version)) is None
    assert index_valid(vector_store.index_name(active)) is True
    after = {p.pk: similar_products_for(product=p, query=query).items for p in products}
    assert after == before
