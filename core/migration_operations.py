"""Migration operations for big tables that a killed `migrate` must not leave blocked."""

from django.contrib.postgres.operations import AddIndexConcurrently

INDEX_STATE_SQL = (
    "SELECT index.indisvalid FROM pg_index index JOIN pg_class class "
    "ON class.oid = index.indexrelid WHERE class.relname = %s"
)


class AddIndexConcurrentlyResumable(AddIndexConcurrently):
    """AddIndexConcurrently that a rerun can finish. A concurrent build stopped half way (a
    killed `migrate`, a cancelled statement) leaves an INVALID index of the same name, and one
    killed after the build but before Django recorded the migration leaves a valid one: either
    made the plain operation fail on every later `migrate` ("already exists"). The first is
    dropped and built again, the second kept."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(INDEX_STATE_SQL, [self.index.name])
            row = cursor.fetchone()
        if row is not None and row[0]:
            return  # built by the run that was stopped before recording itself
        if row is not None:
            schema_editor.execute(
                f"DROP INDEX CONCURRENTLY IF EXISTS {schema_editor.quote_name(self.index.name)}"
            )
        super().database_forwards(app_label, schema_editor, from_state, to_state)
