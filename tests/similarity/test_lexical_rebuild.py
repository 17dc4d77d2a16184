"""The lexical index's rebuild in PostgreSQL: rows written in bulk, one sketch HNSW per index
built once, search answering from the old index until the switch, nothing left by a failure;
and the sketch that HNSW walks, equal in NumPy and in SQL."""

import threading

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import Product
from similarity import vector_store
from similarity.ml import lexical
from similarity.ml.lexical.sketch import SKETCH_DIMENSIONS, sketch_rows
from similarity.models import LexicalIndex, ProductText
from similarity.selectors import search_products
from similarity.services.lexical import lexical_index_rebuild, product_texts_refresh
from tests.catalog.factories import product

HEADPHONES = [
    ("S4", "Sony WH-1000XM4 Wireless Headphones", "Sony", "Noise cancelling, 30 hours, black"),
    ("S3", "Sony WH-1000XM3 Wireless Headphones", "Sony", ""),
    ("B7", "Bose QuietComfort 45 Headphones", "Bose", "Quiet comfort for long flights"),
    ("M1", "Striped ceramic mug", "Hearth", ""),
    ("K2", "Electric kettle 1.7 l", "Hearth", "Boils water fast"),
]


def make_catalogue() -> None:
    for sku, title, brand, description in HEADPHONES:
        product(sku=sku, title=title, brand=brand, description=description)


@pytest.fixture(autouse=True)
def no_sketch_indexes_of_earlier_tests(django_db_blocker):
    """A transactional test's flush empties the tables but keeps the partial indexes it built."""
    with django_db_blocker.unblock():
        for name in sketch_indexes():
            with connection.cursor() as cursor:
                cursor.execute(f"DROP INDEX IF EXISTS {name}")


def sketch_indexes() -> dict[str, bool]:
    """name -> valid, of every lexical sketch HNSW in the database."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT class.relname, index.indisvalid FROM pg_index index JOIN pg_class class "
            "ON class.oid = index.indexrelid WHERE class.relname LIKE 'similarity_pt_sketch_%%'"
        )
        return dict(cursor.fetchall())


def top_skus(title: str, k: int = 2) -> list[str]:
    hits = search_products(query="", limit=k, fields={"title": title})
    skus = dict(Product.objects.values_list("pk", "sku"))
    return [skus[hit.product_id] for hit in hits]


@pytest.mark.django_db
def test_the_sql_sketch_of_every_stored_vector_equals_the_stored_numpy_sketch():
    make_catalogue()
    index = lexical_index_rebuild()
    Product.objects.filter(sku="B7").update(title="Bose QuietComfort Ultra")
    product_texts_refresh(product_ids=list(Product.objects.values_list("pk", flat=True)))

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sketch::text, prodsim_lexical_sketch(vector)::text FROM "
            "similarity_producttext WHERE lexical_index_id = %s",
            [index.pk],
        )
        rows = cursor.fetchall()

    assert len(rows) == 5  # four from the COPY of the rebuild, one rewritten by the refresh
    for stored, in_sql in rows:
        stored, in_sql = (np.array(text.strip("[]").split(","), float) for text in (stored, in_sql))
        assert stored.shape == (SKETCH_DIMENSIONS,)
        assert np.abs(stored - in_sql).max() < 2e-3  # halfvec keeps ~3 significant digits
        assert np.linalg.norm(stored) == pytest.approx(1.0, abs=2e-3)


def test_the_numpy_sketch_keeps_inner_products_and_leaves_empty_rows_empty():
    rng = np.random.default_rng(3)
    from scipy import sparse

    matrix = sparse.random(3, lexical.DIMENSIONS, density=200 / lexical.DIMENSIONS, rng=rng)
    matrix = sparse.vstack([matrix, sparse.csr_matrix((1, lexical.DIMENSIONS))]).tocsr()
    matrix = lexical.combine({"title": matrix.astype(np.float32)}, lexical.FieldWeights())

    sketches = sketch_rows(matrix)

    assert sketches.shape == (4, SKETCH_DIMENSIONS) and sketches.dtype == np.float32
    assert not sketches[3].any()
    assert sketches[0] @ sketches[0] == pytest.approx(1.0, abs=1e-5)
    # unrelated vectors: a sketch inner product near their exact 0 (σ = 1/√256)
    assert abs(sketches[0] @ sketches[1]) < 4 / np.sqrt(SKETCH_DIMENSIONS)


@pytest.mark.django_db(transaction=True)
def test_a_rebuild_builds_one_valid_hnsw_for_its_index_and_drops_the_previous_one():
    make_catalogue()
    first = lexical_index_rebuild()
    assert sketch_indexes() == {vector_store.lexical_hnsw_name(first.pk): True}

    second = lexical_index_rebuild()

    assert sketch_indexes() == {vector_store.lexical_hnsw_name(second.pk): True}
    assert list(LexicalIndex.objects.values_list("pk", flat=True)) == [second.pk]
    assert ProductText.objects.filter(lexical_index=second).count() == 5
    assert ProductText.objects.count() == 5
    assert top_skus("Sony WH-1000XM4 headphones") == ["S4", "S3"]


@pytest.mark.django_db
def test_the_nearest_texts_query_walks_the_sketch_hnsw_and_ranks_by_the_exact_cosine():
    make_catalogue()
    index = lexical_index_rebuild()
    query = lexical.vectorise_record(
        {"title": "Sony WH-1000XM3 headphones"},
        lexical.IdfTable.from_json(index.idf),
        lexical.LexicalConfig.from_json(index.config),
    )
    statement = vector_store.text_knn(index, query=vector_store.text_query(query), limit=3)

    with connection.cursor() as cursor:
        # Tiny tables favour scanning and sorting over any index.
        cursor.execute("SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("EXPLAIN " + statement.sql, statement.params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    walked = vector_store.nearest_texts(index=index, vector=query, k=3)
    exact = vector_store.nearest_texts(index=index, vector=query, k=3, exact=True)

    assert f"Index Scan using {vector_store.lexical_hnsw_name(index.pk)}" in plan
    assert [n.product_id for n in walked] == [n.product_id for n in exact]
    assert [n.distance for n in walked] == pytest.approx([n.distance for n in exact], abs=1e-6)


@pytest.mark.django_db
def test_text_search_walks_the_sketch_wider_than_the_session_default():
    """The sketch graph is built cheaply (lexical_hnsw); the walk of text search and /match
    buys the recall back with its own ef_search, set for its own transaction only."""
    make_catalogue()
    lexical_index_rebuild()
    with connection.cursor() as cursor:
        cursor.execute("SHOW hnsw.ef_search")
        session = int(cursor.fetchone()[0])
    with CaptureQueriesContext(connection) as queries:
        hits = search_products(query="Sony headphones", limit=3)

    settings = [q["sql"] for q in queries.captured_queries if "hnsw.ef_search" in q["sql"]]
    assert vector_store.SKETCH_EF_SEARCH > session == vector_store.DEFAULT_EF_SEARCH
    assert len(settings) == 1 and f"'{vector_store.SKETCH_EF_SEARCH}'" in settings[0]
    sony = set(Product.objects.filter(sku__in=["S4", "S3"]).values_list("pk", flat=True))
    assert {hit.product_id for hit in hits[:2]} == sony


@pytest.mark.django_db(transaction=True)
def test_search_answers_from_the_current_index_while_a_rebuild_builds_the_next(monkeypatch):
    make_catalogue()
    first = lexical_index_rebuild()
    Product.objects.filter(sku="K2").update(title="Sony WH-1000XM5 Wireless Headphones")
    during = {}
    build = vector_store.lexical_hnsw_build

    def build_then_look(*, index, products):
        # The new rows are all written, their HNSW not yet built: what does search see?
        during["rows"] = ProductText.objects.filter(lexical_index=index).count()
        during["kettle"] = top_skus("Electric kettle 1.7 l", k=1)
        during["xm5"] = top_skus("Sony WH-1000XM5 headphones", k=1)
        build(index=index, products=products)

    monkeypatch.setattr(vector_store, "lexical_hnsw_build", build_then_look)

    second = lexical_index_rebuild()

    assert during == {"rows": 5, "kettle": ["K2"], "xm5": ["S3"]}  # the old vectors
    assert LexicalIndex.objects.get(is_current=True).pk == second.pk != first.pk
    assert top_skus("Sony WH-1000XM5 headphones", k=1) == ["K2"]  # the new ones
    assert top_skus("Electric kettle 1.7 l", k=1) != ["K2"]


@pytest.mark.django_db(transaction=True)
def test_a_failed_rebuild_leaves_nothing_behind_and_the_old_index_serving(monkeypatch):
    make_catalogue()
    first = lexical_index_rebuild()

    def fail(*, index, products):
        raise RuntimeError("disk full")

    monkeypatch.setattr(vector_store, "lexical_hnsw_build", fail)

    with pytest.raises(RuntimeError, match="disk full"):
        lexical_index_rebuild()

    assert list(LexicalIndex.objects.values_list("pk", "is_current")) == [(first.pk, True)]
    assert set(ProductText.objects.values_list("lexical_index_id", flat=True)) == {first.pk}
    assert sketch_indexes() == {vector_store.lexical_hnsw_name(first.pk): True}
    assert top_skus("Sony WH-1000XM4 headphones") == ["S4", "S3"]


@pytest.mark.django_db
def test_the_next_rebuild_drops_what_a_killed_rebuild_left():
    make_catalogue()
    first = lexical_index_rebuild()
    # A worker killed after writing rows, before the switch: an index that never became current.
    orphan = LexicalIndex.objects.create(documents=5, idf=first.idf, config=first.config)
    rows = ProductText.objects.filter(lexical_index=first).order_by("pk")
    ProductText.objects.bulk_create(
        ProductText(lexical_index=orphan, product_id=row.product_id, vector=row.vector,
                    sketch=row.sketch, text_sha256=row.text_sha256)
        for row in rows
    )  # fmt: skip

    latest = lexical_index_rebuild()

    assert list(LexicalIndex.objects.values_list("pk", flat=True)) == [latest.pk]
    assert set(ProductText.objects.values_list("lexical_index_id", flat=True)) == {latest.pk}


@pytest.mark.django_db(transaction=True)
def test_a_refresh_during_a_rebuild_waits_and_updates_the_new_index(monkeypatch):
    make_catalogue()
    lexical_index_rebuild()
    kettle = Product.objects.get(sku="K2")
    build = vector_store.lexical_hnsw_build
    refreshes = []

    def refresh_in_another_worker():
        try:
            refreshes.append(product_texts_refresh(product_ids=[kettle.pk]))
        finally:
            connection.close()  # this thread's own connection

    def change_then_build(*, index, products):
        # The rebuild read the catalogue before this change; an import's refresh arrives now.
        Product.objects.filter(pk=kettle.pk).update(title="Sony WH-1000XM5 Wireless Headphones")
        worker = threading.Thread(target=refresh_in_another_worker)
        worker.start()
        worker.join(timeout=2)
        refreshes.append("waiting" if worker.is_alive() else "ran")
        build(index=index, products=products)
        during.append(worker)

    during = []
    monkeypatch.setattr(vector_store, "lexical_hnsw_build", change_then_build)

    second = lexical_index_rebuild()
    during[0].join(timeout=30)

    assert refreshes == ["waiting", 1]  # blocked by the rebuild, then re-vectorised the kettle
    assert top_skus("Sony WH-1000XM5 headphones", k=1) == ["K2"]
    assert set(ProductText.objects.values_list("lexical_index_id", flat=True)) == {second.pk}


@pytest.mark.django_db(transaction=True)
def test_a_rebuild_written_in_many_batches_by_the_writer_thread_keeps_every_row(monkeypatch):
    from similarity.services import lexical_rebuild

    make_catalogue()
    monkeypatch.setattr(lexical_rebuild, "WRITE_BATCH", 2)

    index = lexical_index_rebuild()

    assert ProductText.objects.filter(lexical_index=index).count() == len(HEADPHONES)
    assert sketch_indexes() == {vector_store.lexical_hnsw_name(index.pk): True}
    assert top_skus("Sony WH-1000XM4 headphones") == ["S4", "S3"]


@pytest.mark.django_db(transaction=True)
def test_a_copy_failing_midway_leaves_nothing_behind_and_the_old_index_serving(monkeypatch):
    from similarity.services import lexical_rebuild

    make_catalogue()
    first = lexical_index_rebuild()
    monkeypatch.setattr(lexical_rebuild, "WRITE_BATCH", 2)
    copy, calls = vector_store.product_texts_copy, []

    def copy_then_fail(**kwargs):
        calls.append(len(kwargs["product_ids"]))
        if len(calls) == 2:
            raise RuntimeError("connection lost")
        return copy(**kwargs)

    monkeypatch.setattr(vector_store, "product_texts_copy", copy_then_fail)

    with pytest.raises(RuntimeError, match="connection lost"):
        lexical_index_rebuild()

    assert list(LexicalIndex.objects.values_list("pk", "is_current")) == [(first.pk, True)]
    assert set(ProductText.objects.values_list("lexical_index_id", flat=True)) == {first.pk}
    assert top_skus("Sony WH-1000XM4 headphones") == ["S4", "S3"]


@pytest.mark.django_db(transaction=True)
def test_a_product_deleted_while_a_rebuild_runs_is_left_out_of_the_new_index(monkeypatch):
    """Deleted after the rebuild read the catalogue, before its rows are copied: the COPY's
    foreign key must not throw the whole rebuild away."""
    make_catalogue()
    first = lexical_index_rebuild()
    counts = lexical.catalogue_counts

    def delete_then_count(*args, **kwargs):
        Product.objects.filter(sku="K2").delete()
        return counts(*args, **kwargs)

    monkeypatch.setattr(lexical, "catalogue_counts", delete_then_count)

    second = lexical_index_rebuild()

    assert LexicalIndex.objects.get(is_current=True).pk == second.pk != first.pk
    assert ProductText.objects.filter(lexical_index=second).count() == len(HEADPHONES) - 1
    assert top_skus("Sony WH-1000XM4 headphones") == ["S4", "S3"]
