"""What a restore changes in the database it restored, before `migrate`: model versions' paths
moved to this installation's models root, and the old server's state forgotten. Plain SQL on the
columns involved alone: the tables are the backup's release's, which today's models may not match
(a column added since, a table that did not exist yet)."""

from django.apps import apps
from django.db import connection, transaction

# Model versions' absolute paths under PRODSIM_MODELS_ROOT, which a restore moves.
ARTIFACT_PATHS = {
    "similarity.ModelVersion": ["artifact_dir"],
    "behaviour.SequenceModelVersion": ["artifact_path", "vectors_path"],
}
REBUILD_REASON = "restored from a backup"


def artifact_paths_move(old_root: str, new_root: str) -> int:
    """Point model versions at the restored artifacts; the number of versions moved. Only paths
    inside old_root move, not those of a sibling folder (models2)."""
    if old_root == new_root:
        return 0
    inside, target = old_root.rstrip("/") + "/", new_root.rstrip("/") + "/"
    moved = 0
    with transaction.atomic(), connection.cursor() as cursor:
        for label, fields in ARTIFACT_PATHS.items():
            meta = apps.get_model(label)._meta
            present = _columns(cursor, meta.db_table)
            columns = [c for c in (meta.get_field(f).column for f in fields) if c in present]
            if columns:
                moved += _paths_move(cursor, meta.db_table, columns, inside, target)
    return moved


def _paths_move(cursor, table: str, columns: list[str], inside: str, target: str) -> int:
    quote = connection.ops.quote_name
    moves = ", ".join(
        f"{quote(c)} = CASE WHEN starts_with({quote(c)}, %(inside)s) "
        f"THEN %(target)s || substr({quote(c)}, %(cut)s) ELSE {quote(c)} END"
        for c in columns
    )
    inside_any = " OR ".join(f"starts_with({quote(c)}, %(inside)s)" for c in columns)
    cursor.execute(
        f"UPDATE {quote(table)} SET {moves} WHERE {inside_any}",
        {"inside": inside, "target": target, "cut": len(inside) + 1},
    )
    return cursor.rowcount


def _columns(cursor, table: str) -> set[str]:
    """The table's columns as restored (none: the backup's release had no such table)."""
    cursor.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = %s",
        [table],
    )
    return {name for (name,) in cursor.fetchall()}


def old_servers_state_forget() -> None:
    """Lists and verified keys cached before the restore describe another database: generation
    bumps hide them. The behaviour counts start again with a full rebuild: pg_restore copies the
    old server's transaction ids (behaviour_eventkey.xact, the count state's snapshot), which tell
    the refresh which events are new, while a fresh cluster counts from lower ones. Stamped with
    this transaction, every key is older than any later snapshot. A backup older than these
    tables needs none of it (migrate creates them; no counts were kept)."""
    from behaviour.models import BehaviourCountState, EventKey, RebuildRequest
    from partners import keys as partner_keys
    from similarity import cache

    keys, state = EventKey._meta.db_table, BehaviourCountState._meta.db_table
    requests = RebuildRequest._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        if "xact" in _columns(cursor, keys):
            cursor.execute(f"UPDATE {keys} SET xact = pg_current_xact_id()")
        if _columns(cursor, state):
            cursor.execute(f"DELETE FROM {state}")  # the next refresh is a full rebuild
        if {"requested_at", "reason"} <= _columns(cursor, requests):
            cursor.execute(
                f"INSERT INTO {requests} (requested_at, reason) VALUES (now(), %s)",
                [REBUILD_REASON],
            )
    cache.serving_changed()
    partner_keys.keys_changed()
