"""Model instances straight from SQL rows, for the reads on every similar-items request.

The ORM compiles a query each time it runs one (~0.5 ms), and even `raw()` maps its columns
afresh for every query (~0.4 ms for ten products): at 100k products that was a tenth of an
uncached ~10 ms request (bench/similar_latency.py). Here the column list and the field
converters (JSON decoding, say) are worked out once per model, and each row becomes an instance
through `Model.from_db`, as the ORM builds them. Callers write plain SQL that selects
`columns(Model, alias)` first.
"""

import functools

from django.db import connection, models


@functools.cache
def _layout(model: type[models.Model]) -> tuple[list[str], list[str], list[tuple]]:
    fields = model._meta.concrete_fields
    converters = [
        (index, converter, field.get_col(model._meta.db_table))
        for index, field in enumerate(fields)
        for converter in (
            *connection.ops.get_db_converters(field.get_col(model._meta.db_table)),
            *field.get_db_converters(connection),
        )
    ]
    return [field.column for field in fields], [field.attname for field in fields], converters


def columns(model: type[models.Model], alias: str) -> str:
    """`alias.column, …` for every concrete field of `model`, in the order instance() reads."""
    return ", ".join(f"{alias}.{column}" for column in _layout(model)[0])


def instance(model: type[models.Model], row, start: int = 0) -> models.Model:
    """The instance whose columns (as columns() lists them) begin at row[start]."""
    _, attnames, converters = _layout(model)
    values = list(row[start : start + len(attnames)])
    for index, converter, expression in converters:
        values[index] = converter(values[index], expression, connection)
    return model.from_db(connection.alias, attnames, values)
