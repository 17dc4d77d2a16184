"""An event import's SKU map is grown by the import's thread while writer threads read it: an
erased shopper's lines are reported by SKU from a writer (ProductIds.skus_by_id)."""

import itertools
import sys
import threading

from behaviour.services.imports import chunks


def test_a_writer_reads_the_sku_map_while_the_import_thread_grows_it(monkeypatch):
    """Iterating the map as it grew raised "dictionary changed size during iteration", which
    failed the whole import part-way (a re-import after erasures, a large catalogue)."""
    numbers = itertools.count(1)
    monkeypatch.setattr(
        chunks.catalog_selectors,
        "product_ids_by_sku",  # the lookup is not what is tested: every SKU names a product
        lambda *, skus: {sku: next(numbers) for sku in skus},
    )
    ids = chunks.ProductIds()
    ids.resolve({f"OLD-{n}" for n in range(100_000)})
    errors, stop = [], threading.Event()

    def writer():
        while not stop.is_set():
            try:
                ids.skus_by_id()
            except RuntimeError as exc:
                errors.append(exc)
                return

    reader = threading.Thread(target=writer)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads switch as often as they can
    reader.start()
    try:
        for chunk in range(40):
            ids.resolve({f"NEW-{chunk}-{n}" for n in range(2_000)})
    finally:
        stop.set()
        reader.join()
        sys.setswitchinterval(interval)

    assert errors == []
    assert len(ids.skus_by_id()) == 180_000
