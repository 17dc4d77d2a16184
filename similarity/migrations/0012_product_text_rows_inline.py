"""Keep a lexical row (a sparse vector of ~1.5 KB, its 0.5 KB sketch) in the table's own pages.

PostgreSQL moves a row's largest values out to the TOAST table once the row passes about 2 KB,
which most lexical rows just did: every row written then cost a second insert, and every
candidate the exact re-ranking read cost a TOAST index lookup. With rows kept whole up to
4 KB: 100k synthetic rows were written by COPY in 4.3–4.5 s against 5.5–6.0 s, and `/match`
SQL p99 was 11.5 ms against 12.5–14.0 ms (side by side, bench/lexical_db.py's queries). Rows
already stored move on the next rebuild.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("similarity", "0011_lexical_sketch_hnsw_per_index")]

    operations = [
        migrations.RunSQL(
            "ALTER TABLE similarity_producttext SET (toast_tuple_target = 4080)",
            reverse_sql="ALTER TABLE similarity_producttext RESET (toast_tuple_target)",
        )
    ]
