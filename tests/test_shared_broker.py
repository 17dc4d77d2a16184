"""Concurrent test runs share one Valkey database (the embedded server's db 1, or REDIS_URL's),
their cache and broker keys told apart by each run's prefix: a test deletes only its own keys."""

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parent
# Django's cache clear() is FLUSHDB; redis-py's flushdb()/flushall() the same or worse.
WHOLE_DATABASE = re.compile(r"\bcache\.clear\(\)|\.flush(db|all)\(")


def test_no_test_empties_the_shared_valkey_database():
    # One did: every other run's queued tasks vanished. Use similar_cache.reset() (makes every
    # cached list unreachable) or cache.delete_matching(pattern) (this run's prefix only).
    emptying = [
        f"{path.relative_to(TESTS)}:{number}"
        for path in sorted(TESTS.rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if WHOLE_DATABASE.search(line)
    ]
    assert emptying == []
