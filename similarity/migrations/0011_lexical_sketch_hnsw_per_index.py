# The sparse HNSW over every lexical vector gives way to a dense count sketch per row and one
# HNSW per lexical index (similarity/vector_store/lexical.py says why). Existing rows get their
# sketch here, in SQL, and the current lexical index its HNSW, so no reindex is needed.

import pgvector.django.halfvec
from django.db import migrations

# similarity.ml.lexical.sketch.SKETCH_SQL as it was when this migration was written (a test
# holds the function equal to the NumPy sketch).
CREATE_SKETCH_FUNCTION = """
CREATE OR REPLACE FUNCTION prodsim_lexical_sketch(query_vector sparsevec) RETURNS halfvec
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
SELECT l2_normalize(array_agg(coalesce(total, 0) ORDER BY slot)::vector)::halfvec
FROM generate_series(0, 255) AS slot LEFT JOIN (
    SELECT hashed % 256 AS hashed_slot,
           sum(CASE WHEN (hashed / 256) % 2 = 1 THEN value ELSE -value END) AS total
    FROM (
        SELECT ((split_part(pair, ':', 1)::bigint - 1) * 2654435761 + 97)
                   % 4294967291 AS hashed,
               split_part(pair, ':', 2)::float8 AS value
        FROM unnest(string_to_array(
            btrim(split_part(query_vector::text, '/', 1), '{}'), ','
        )) AS pair
    ) AS entries
    GROUP BY 1
) AS sums ON sums.hashed_slot = slot
$$;
"""
DROP_SKETCH_FUNCTION = "DROP FUNCTION IF EXISTS prodsim_lexical_sketch(sparsevec);"

FILL_SKETCHES = "UPDATE similarity_producttext SET sketch = prodsim_lexical_sketch(vector);"


def current_index_hnsw(apps, schema_editor):
    """The current lexical index's sketch HNSW (vector_store.lexical.hnsw_build's statement)."""
    index = apps.get_model("similarity", "LexicalIndex").objects.filter(is_current=True).first()
    if index is None:
        return
    schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    # The graph must fit the build's memory, or pgvector inserts the rest on disk, many times
    # slower, inside this migration's lock (vector_store.lexical_hnsw: 1,600 bytes a product).
    memory_mb = max(int(index.documents) * 1_600 // 2**20, 64)
    schema_editor.execute(f"SET LOCAL maintenance_work_mem = '{memory_mb}MB'")
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS similarity_pt_sketch_hnsw_l{int(index.pk)} "
        "ON similarity_producttext USING hnsw (sketch halfvec_cosine_ops) "
        f"WITH (m = 16, ef_construction = 100) WHERE lexical_index_id = {int(index.pk)}"
    )


def drop_sketch_indexes(apps, schema_editor):
    for index in apps.get_model("similarity", "LexicalIndex").objects.all():
        schema_editor.execute(f"DROP INDEX IF EXISTS similarity_pt_sketch_hnsw_l{int(index.pk)}")


class Migration(migrations.Migration):
    dependencies = [
        ("similarity", "0010_gold_photos"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="producttext",
            name="product_text_hnsw",
        ),
        migrations.AddField(
            model_name="producttext",
            name="sketch",
            field=pgvector.django.halfvec.HalfVectorField(
                dimensions=256,
                help_text="Count sketch of the vector (ml.lexical.sketch).",
                null=True,
            ),
        ),
        migrations.RunSQL(CREATE_SKETCH_FUNCTION, DROP_SKETCH_FUNCTION),
        migrations.RunSQL(FILL_SKETCHES, migrations.RunSQL.noop),
        migrations.AlterField(
            model_name="producttext",
            name="sketch",
            field=pgvector.django.halfvec.HalfVectorField(
                dimensions=256, help_text="Count sketch of the vector (ml.lexical.sketch)."
            ),
        ),
        migrations.RunPython(current_index_hnsw, drop_sketch_indexes),
    ]
