"""Where an uncached bought-together request's time goes (behaviour_serving.py --lists-only).

cpu        CPU per request of the gunicorn workers and of their PostgreSQL backends over the
           sequential run: what a request costs the machine, much less sensitive to other
           load than its wall time (which waits for a core whenever others hold both)
breakdown  the selector in this process on other products: thread CPU per part (the product,
           its own partners, the content neighbours' search, the complements, the fills, the
           items) and the SQL statements per request
tiers      side by side on the same products and filters: a tier's candidates and their
           filter check as two queries (the shape before behaviour/selectors/allowed.py)
           against the one statement served now
"""

import functools
import statistics
import time
from collections import defaultdict

from _report import markdown_table

K = 10
CANDIDATES_PER_SLOT = 4
PARTS = (
    ("catalog.selectors", "product_get"),
    ("behaviour.selectors.lists", "associated"),
    ("behaviour.selectors.lists", "similar_products_for"),
    ("behaviour.selectors.lists", "complements"),
    ("behaviour.selectors.lists", "trending_candidates"),
    ("behaviour.selectors.lists", "newest"),
    ("behaviour.selectors.lists", "_items"),
)


def percentiles(values: list[float]) -> dict:
    ordered = sorted(values)
    pick = lambda share: ordered[min(len(ordered) - 1, int(share * len(ordered)))]  # noqa: E731
    return {
        "n": len(ordered),
        "p50_ms": round(pick(0.5), 2),
        "p99_ms": round(pick(0.99), 2),
        "mean_ms": round(statistics.fmean(ordered), 2),
    }


def cpu_per_request(meter: dict, requests: int) -> dict:
    """A CpuMeter's result over `requests` requests, in ms per request."""
    return {
        "workers_ms": round(1000 * meter["workers_s"] / requests, 2),
        "postgres_ms": round(1000 * meter["postgres_s"] / requests, 2),
    }


class PartClock:
    """Thread CPU spent in each part of the selector while installed (wrapping module names)."""

    def __init__(self):
        self.spent: dict[str, float] = defaultdict(float)
        self.saved = []

    def __enter__(self):
        import importlib

        for module_name, name in PARTS:
            module = importlib.import_module(module_name)
            original = getattr(module, name)
            self.saved.append((module, name, original))
            setattr(module, name, self._timed(name, original))
        return self

    def __exit__(self, *exc):
        for module, name, original in self.saved:
            setattr(module, name, original)

    def _timed(self, name, original):
        @functools.wraps(original)
        def timed(*args, **kwargs):
            started = time.thread_time()
            try:
                return original(*args, **kwargs)
            finally:
                self.spent[name] += time.thread_time() - started

        return timed


def breakdown(skus: list[str]) -> dict:
    """bought_together for each SKU in this process: CPU and wall per request, CPU per part,
    SQL statements per request."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from behaviour import selectors
    from catalog import selectors as catalog_selectors
    from similarity.selectors import SimilarQuery

    cpu, wall, statements = [], [], []
    with PartClock() as clock:
        for sku in skus:
            wall_start, cpu_start = time.perf_counter(), time.thread_time()
            with CaptureQueriesContext(connection) as queries:
                product = catalog_selectors.product_get(sku=sku, with_images=False)
                query = SimilarQuery(k=K, with_images=False)  # as the API asks
                selectors.bought_together(product=product, query=query)
            cpu.append(1000 * (time.thread_time() - cpu_start))
            wall.append(1000 * (time.perf_counter() - wall_start))
            statements.append(len(queries.captured_queries))
    n = len(skus)
    return {
        "cpu": percentiles(cpu),
        "wall": percentiles(wall),
        "statements": round(statistics.fmean(statements), 2),
        "parts_ms": {name: round(1000 * s / n, 2) for name, s in clock.spent.items()},
    }


def _two_queries(product_id: int, product_filter) -> set[int]:
    """The tier's shape before allowed.py: the ranked partners, then the filter on their ids."""
    from behaviour.models import ItemAssociation
    from catalog import selectors as catalog_selectors

    rows = (
        ItemAssociation.objects.filter(kind="bought_together", product_id__in=[product_id])
        .exclude(other_id__in=[product_id])
        .order_by("-score", "other_id")
        .values_list("product_id", "other_id", "score", "recent")[: K * CANDIDATES_PER_SLOT]
    )
    ids = [other for _, other, _, _ in rows]
    matching = catalog_selectors.products_matching(product_filter=product_filter)
    return set(matching.filter(pk__in=ids).values_list("pk", flat=True)) if ids else set()


def _one_statement(product_id: int, product_filter) -> set[int]:
    from behaviour.selectors import tiers

    _, allowed = tiers._partners(
        "bought_together", {product_id: 1.0}, [product_id], product_filter, K
    )
    return allowed


def tiers_side_by_side(skus: list[str]) -> dict:
    """Both shapes on the same products (alternating, so load drifts hit both alike); each
    must find the same allowed partners."""
    from catalog import selectors as catalog_selectors
    from similarity.selectors import SimilarQuery
    from similarity.selectors.similar import product_filter_for

    timings = {"two queries (before)": ([], []), "one statement (now)": ([], [])}
    shapes = {"two queries (before)": _two_queries, "one statement (now)": _one_statement}
    mismatches = 0
    for sku in skus:
        product = catalog_selectors.product_get(sku=sku, with_images=False)
        source = catalog_selectors.product_facts_of(product)
        product_filter = product_filter_for(
            source, SimilarQuery(k=K), [product.pk], source.group_id
        )
        found = []
        for name, shape in shapes.items():
            wall_start, cpu_start = time.perf_counter(), time.thread_time()
            found.append(shape(product.pk, product_filter))
            timings[name][0].append(1000 * (time.thread_time() - cpu_start))
            timings[name][1].append(1000 * (time.perf_counter() - wall_start))
        mismatches += found[0] != found[1]
    return {
        "shapes": {
            name: {"cpu": percentiles(cpu), "wall": percentiles(wall)}
            for name, (cpu, wall) in timings.items()
        },
        "mismatches": mismatches,
    }


def section_markdown(figures: dict, lists_table: str) -> str:
    cpu, parts = figures["cpu_per_request"], figures["breakdown"]
    part_rows = [[name, ms] for name, ms in sorted(parts["parts_ms"].items(), key=lambda i: -i[1])]
    tier_rows = [
        [name, s["cpu"]["p50_ms"], s["cpu"]["p99_ms"], s["wall"]["p50_ms"], s["wall"]["p99_ms"]]
        for name, s in figures["tiers"]["shapes"].items()
    ]
    wrk_rows = [
        [run["connections"], run["requests"], run["errors"], run["p50_ms"], run["p99_ms"]]
        for run in figures["lists"].get("wrk", [])
    ]
    wrk = (
        "wrk, bought together, a new SKU per request (every answer a cache miss):\n\n"
        + markdown_table(["connections", "requests", "errors", "p50 ms", "p99 ms"], wrk_rows)
        if wrk_rows
        else "wrk is not installed: no closed-loop run."
    )
    return f"""### Bought together at scale: where an uncached request's time goes (#16)

Command: `{figures["command"]}`; {figures["products"]:,} products, {figures["events"]:,} events.
Load average (1/5/15 min) at the start {" / ".join(map(str, figures["load_avg_start"]))}, at the
end {" / ".join(map(str, figures["load_avg_end"]))}: on 2 shared cores wall times above are mostly
waiting for a core; CPU per request is what a request itself costs.

{lists_table}

{wrk}

**CPU per uncached request** (every list request of the run above: bought together, also
viewed, trending, wrk; target p99 ≤ 30 ms wall): gunicorn workers {cpu["workers_ms"]} ms, their
PostgreSQL backends {cpu["postgres_ms"]} ms.

**In this process** (the selector without HTTP, DRF and cache; {parts["cpu"]["n"]} other
products): CPU p50 {parts["cpu"]["p50_ms"]} ms, p99 {parts["cpu"]["p99_ms"]} ms; wall p50
{parts["wall"]["p50_ms"]} ms, p99 {parts["wall"]["p99_ms"]} ms; {parts["statements"]} SQL
statements per request. CPU per part (ms per request):

{markdown_table(["part", "CPU ms / request"], part_rows)}

**A tier's candidates and their filter check**, side by side on the same products (the own
partners tier; {figures["tiers"]["mismatches"]} products where the two found different allowed
partners):

{markdown_table(["shape", "CPU p50 ms", "CPU p99 ms", "wall p50 ms", "wall p99 ms"], tier_rows)}"""
