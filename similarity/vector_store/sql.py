"""The vocabulary every vector_store statement is written in: SQL text that carries its own
parameters, vector literals and the per-version column expression."""

import functools
import string
from collections.abc import Iterable
from typing import NamedTuple

import numpy as np
from pgvector import SparseVector

from similarity.ml.lexical import DIMENSIONS as LEXICAL_DIMENSIONS

from ..models import ModelVersion

# Operator and operator class per metric (pgvector docs: <=> cosine, <-> L2, <#> negative IP).
OPERATORS = {"cosine": "<=>", "l2": "<->", "ip": "<#>"}
OPCLASSES = {"cosine": "vector_cosine_ops", "l2": "vector_l2_ops", "ip": "vector_ip_ops"}

_FORMATTER = string.Formatter()


@functools.lru_cache(maxsize=256)  # templates are constants: each is parsed once
def _pieces(template: str) -> tuple[tuple[str, str | None], ...]:
    """`template` as (literal text, placeholder name or None) pairs, in order."""
    pieces = []
    for text, name, _spec, _conversion in _FORMATTER.parse(template):
        if "%s" in text:
            raise ValueError("a template's own %s would misplace the parameters")
        pieces.append((text, name))
    return tuple(pieces)


class Statement(NamedTuple):
    """SQL text and its parameters, together: a builder composes statements, never counts
    placeholders. `sql` writes each parameter as `%s` and `params` holds them in that order.

    A NamedTuple rather than a frozen dataclass: a ranking request makes a dozen or more, and
    a frozen dataclass takes ~1 µs to make, a tuple ~0.1 µs."""

    sql: str
    params: tuple = ()

    @classmethod
    def compose(cls, template: str, **parts: "Statement | str | int") -> "Statement":
        """`template` with each `{name}` replaced by its part; the parameters follow in the order
        the parts appear (a part used twice brings its parameters twice). Plain str and int parts
        are written in as they are: trusted SQL or numbers, never values from outside."""
        sql, params = [], []
        for text, name in _pieces(template):
            sql.append(text)
            if name is None:
                continue
            part = parts[name]
            if isinstance(part, Statement):
                sql.append(part.sql)
                params += part.params
            else:
                sql.append(str(part))
        return cls("".join(sql), tuple(params))

    @classmethod
    def join(cls, separator: str, statements: Iterable["Statement"]) -> "Statement":
        statements = list(statements)
        return cls(
            separator.join(s.sql for s in statements),
            tuple(param for s in statements for param in s.params),
        )


EMPTY = Statement("")


def expression(version: ModelVersion, column: str = "embedding") -> str:
    """The column as the version's index sees it: typed to the version's dimensions."""
    return f"({column}::vector({int(version.vector_dim)}))"


def vector_literal(vector: np.ndarray) -> str:
    return "[" + ",".join(map(repr, np.asarray(vector, dtype=np.float32).tolist())) + "]"


def sparse(vector: dict[int, float]) -> SparseVector:
    return SparseVector(vector, LEXICAL_DIMENSIONS)


def vector_binary(column: str) -> str:
    """SQL reading a vector column in pgvector's binary form, for `parse_vector_binary`:
    formatting and parsing the floats as text cost several times the query itself."""
    return f"vector_send({column})"


def parse_vector_binary(data: bytes) -> np.ndarray:
    # vector_send: int16 dimensions, int16 unused, then big-endian float4s.
    return np.frombuffer(data, ">f4", offset=4).astype(np.float32)
