"""Statement: SQL and its parameters composed together, in placeholder order."""

import pytest

from similarity.vector_store import Statement


def test_parts_bring_their_parameters_in_the_order_they_appear():
    vector = Statement("%s::vector(2)", ("[1,0]",))
    where = Statement(" AND NOT (product_id = ANY(%s))", ([3, 4],))

    statement = Statement.compose(
        "SELECT {vector} WHERE id = {id}{where} ORDER BY {vector} LIMIT {limit}",
        vector=vector,
        id=Statement("%s", (9,)),
        where=where,
        limit=5,
    )

    assert statement == Statement(
        "SELECT %s::vector(2) WHERE id = %s AND NOT (product_id = ANY(%s)) "
        "ORDER BY %s::vector(2) LIMIT 5",
        ("[1,0]", 9, [3, 4], "[1,0]"),
    )


def test_join_keeps_each_statement_with_its_parameters():
    joined = Statement.join(" UNION ALL ", [Statement("SELECT %s", (1,)), Statement("SELECT 2")])

    assert joined == Statement("SELECT %s UNION ALL SELECT 2", (1,))


def test_a_template_may_not_hold_a_placeholder_of_its_own():
    with pytest.raises(ValueError, match="would misplace the parameters"):
        Statement.compose("SELECT %s, {x}", x=Statement("%s", (1,)))
