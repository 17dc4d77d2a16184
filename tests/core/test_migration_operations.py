"""A concurrent index build that a killed `migrate` left behind, INVALID or valid but not
recorded, does not block the next `migrate` (experiments 0005's indexes on the A/B log)."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from core.migration_operations import INDEX_STATE_SQL
from experiments.models import Impression
from tests.catalog.factories import product

pytestmark = pytest.mark.django_db(transaction=True)  # concurrent builds: no transaction

BEFORE = ("experiments", "0004_impressions_outlive_products")
INDEXES = ("experiments", "0005_shopper_indexes")


def migrate_to(target) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([target])


def index_state(name: str):
    with connection.cursor() as cursor:
        cursor.execute(INDEX_STATE_SQL, [name])
        return cursor.fetchone()


def test_a_rerun_finishes_what_a_killed_migrate_left_invalid_or_unrecorded():
    migrate_to(BEFORE)
    try:
        table = Impression._meta.db_table
        shown = product(sku="A")
        Impression.objects.bulk_create(
            Impression(
                widget="similar",
                source_product=shown,
                shown_product=shown,
                position=1,
                session_hash="same",
            )
            for _ in range(2)
        )
        with connection.cursor() as cursor:
            # A build that fails half way (here: on duplicates) leaves its index INVALID.
            with pytest.raises(Exception, match="could not create unique index"):
                cursor.execute(
                    f"CREATE UNIQUE INDEX CONCURRENTLY impression_shopper ON {table} (session_hash)"
                )
            # One killed after its build, before Django recorded the migration: valid.
            cursor.execute("CREATE INDEX click_shopper ON experiments_click (session_hash)")
        assert index_state("impression_shopper") == (False,)

        migrate_to(INDEXES)

        assert index_state("impression_shopper") == (True,)
        assert index_state("click_shopper") == (True,)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT indisunique FROM pg_index JOIN pg_class c ON c.oid = indexrelid "
                "WHERE c.relname = 'impression_shopper'"
            )
            assert cursor.fetchone() == (False,)  # built again as the migration says
    finally:
        migrate_to(INDEXES)
