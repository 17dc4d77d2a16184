"""The event key table loses the varchar_pattern_ops twin that Django adds beside the index of
every varchar key, for LIKE 'prefix%' queries: nothing looks event ids up by prefix, and every
index costs each imported event an insert (bench/event_import.py)."""

from django.db import migrations

LIKE_INDEX = "behaviour_eventkey_event_id_17c06432_like"


class Migration(migrations.Migration):
    dependencies = [("behaviour", "0007_sequence_item_vectors")]

    operations = [
        migrations.RunSQL(
            f"DROP INDEX IF EXISTS {LIKE_INDEX}",
            reverse_sql=(
                f"CREATE INDEX IF NOT EXISTS {LIKE_INDEX} "
                "ON behaviour_eventkey (event_id varchar_pattern_ops)"
            ),
        )
    ]
