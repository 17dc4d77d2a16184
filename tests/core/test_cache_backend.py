import threading
import uuid

from django.core.cache import cache

from core import cache_backend


def test_every_call_shares_one_redis_client_per_pool_and_the_cache_still_works():
    client = cache._cache.get_client(write=True)
    assert cache._cache.get_client(write=True) is client
    cache.set("cache-backend-test", {"a": 1}, 30)
    assert cache.get("cache-backend-test") == {"a": 1}
    assert cache._cache.get_client(write=True) is client
    cache.delete("cache-backend-test")


def test_the_expiring_counter_counts_every_increment_of_concurrent_writers_once():
    key, counts = f"counter-{uuid.uuid4().hex}", []

    def bump() -> None:
        for _ in range(25):
            counts.append(cache.incr_expiring(key, 60)[0])

    threads = [threading.Thread(target=bump) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(counts) == list(range(1, 201))  # a read-modify-write would repeat counts


def test_only_the_first_increment_starts_the_window():
    key = f"counter-{uuid.uuid4().hex}"
    count, left = cache.incr_expiring(key, 60)
    assert count == 1 and 59 < left <= 60
    cache._cache.get_client(write=True).pexpire(cache.make_key(key), 5000)  # 5 s left now
    count, left = cache.incr_expiring(key, 60)
    assert count == 2 and 0 < left <= 5  # the later increment did not extend it


def test_deleting_by_pattern_deletes_the_matching_entries_only(monkeypatch):
    monkeypatch.setattr(cache_backend, "SCAN_STEP", 2)  # several SCAN and DEL rounds
    run = uuid.uuid4().hex
    matching = [f"{run}:list:{n}:visitor:abc" for n in range(5)]
    others = [f"{run}:list:0:visitor:abd", f"{run}:visitor:abc:more"]
    cache.set_many({key: n for n, key in enumerate(matching + others)}, 60)

    assert cache.delete_matching(f"{run}:*:visitor:abc") == 5

    assert cache.get_many(matching) == {}
    assert sorted(cache.get_many(others)) == sorted(others)
