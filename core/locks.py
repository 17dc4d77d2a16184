"""Advisory locks held to the end of the current transaction, for writes that a row lock cannot
order: a row lock only covers rows the statement's snapshot already sees, so two transactions
that each make a different row "the one" (activating a model version) both pass it. And one
held by the session, for work that spans transactions."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection

# pg_advisory_xact_lock's two-int form keeps these apart from the single-key locks elsewhere;
# one second key per kind of "the one" decision, listed here so that no two kinds share one.
ACTIVATIONS = 0x61637476  # "actv"
IMAGE_ACTIVATIONS = 1  # similarity's ModelVersion
SEQUENCE_ACTIVATIONS = 2  # behaviour's SequenceModelVersion
SCHEDULED_TRAININGS = 3  # behaviour's scheduled sequence retraining: one started, not two
# The first key of the per-file locks (the second: the file name's hash), apart from the above.
STORED_FILES = 0x66696C65  # "file"
# The first key of the per-version vector stores (the second: the sequence version's id).
SEQUENCE_VECTOR_STORES = 0x73717663  # "sqvc"


def turn_lock(kind: int) -> None:
    """Make the decisions of one kind (activations of one kind of version, a scheduled training's
    start) take turns until the transaction ends. Taken before any read: under READ COMMITTED
    each later statement then sees what the previous decision committed."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [ACTIVATIONS, kind])


def stored_file_lock(name: str) -> None:
    """Make the reuse and the removal of one shared stored file (content-addressed: rows of
    several products name it) take turns until the transaction ends, so that a removal never
    deletes a file that a transaction still to commit has just taken for a new row."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [STORED_FILES, name])


@contextmanager
def session_lock_tried(first: int, second: int) -> Iterator[bool]:
    """An advisory lock taken only if free, for work that may span transactions (an index built
    CONCURRENTLY): yields whether it is held. Outside a transaction the session holds it until
    the work ends; inside one, the transaction does (an unlock after a failed statement would
    raise over the error, and leave the lock with the connection)."""
    in_transaction = connection.in_atomic_block
    taking = "pg_try_advisory_xact_lock" if in_transaction else "pg_try_advisory_lock"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {taking}(%s, %s)", [first, second])
        held = cursor.fetchone()[0]
    try:
        yield held
    finally:
        if held and not in_transaction:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [first, second])
