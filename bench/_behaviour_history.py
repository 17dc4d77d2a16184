"""The synthetic shopper history of bench/behaviour_serving.py: orders and view sessions with
Zipf-like popularity, written with COPY beside the catalogue (products as similar_latency.py
writes them, and unless --no-vectors one active version of clustered vectors with its index)."""

import datetime as dt
import time

import numpy as np
import similar_latency as latency
from _report import log

LEAVES = latency.DEPARTMENTS * latency.KINDS  # product id i sits in leaf category i % LEAVES

# The synthetic history. Shares of event kinds (views take the rest):
KIND_SHARES = {"purchase": 0.40, "add_to_cart": 0.07, "click": 0.03}
KINDS = ("view", "add_to_cart", "purchase", "click")  # codes 0..3 in the arrays
BASKET_SIZES = np.arange(1, 9)
# Lines per order: mostly one to three, rarely eight (mean ≈ 2.8, an online shop's basket).
BASKET_WEIGHTS = np.array([30, 22, 15, 11, 8, 6, 4.5, 3.5]) / 100
SESSION_P = 0.3  # view-session length ~ geometric(0.3), capped at 10: mean ≈ 3 views
MAX_SESSION = 10
ZIPF_S = 1.0  # popularity ∝ 1 / rank^s, over all products and within each category
SAME_CATEGORY = {"purchase": 0.7, "view": 0.6}  # later lines from the first line's category
HISTORY_DAYS = 120  # spans the 90-day "why" window, under the 400-day retention
MARGIN_S = 1800  # sessions end before now: an event in the future is rejected
EVENTS_PER_VISITOR = 10
# Regular customers beside them: a few visitors with a wholesale customer's long history, so the
# recommendations are also timed with their read window (SERVED_HISTORY_EVENTS) full.
REGULAR_EVENTS = 250
REGULARS_MAX = 200
DAY_S = 86_400.0
COPY_CHUNK = 100_000


# --- the synthetic history ----------------------------------------------------------------------
class Popularity:
    """Zipf-like draws of product ids (1..n): over all products, or within a product's category
    (the category's members ranked by the same global popularity)."""

    def __init__(self, products: int, rng: np.random.Generator):
        self.by_rank = rng.permutation(products) + 1  # product ids, most popular first
        self.cdf = self._cdf(products)
        categories = self.by_rank % LEAVES
        self.members = self.by_rank[np.argsort(categories, kind="stable")]
        counts = np.bincount(categories, minlength=LEAVES)
        self.offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
        self.category_cdf = self._cdf(int(counts.min()))

    @staticmethod
    def _cdf(size: int) -> np.ndarray:
        weights = 1.0 / np.arange(1, size + 1) ** ZIPF_S
        return np.cumsum(weights) / weights.sum()

    def draw(self, rng, count: int) -> np.ndarray:
        ranks = np.searchsorted(self.cdf, rng.random(count))
        return self.by_rank[np.minimum(ranks, len(self.by_rank) - 1)]

    def near(self, rng, product_ids: np.ndarray) -> np.ndarray:
        """A product of the same category as each of product_ids."""
        ranks = np.minimum(
            np.searchsorted(self.category_cdf, rng.random(len(product_ids))),
            len(self.category_cdf) - 1,
        )
        return self.members[self.offsets[product_ids % LEAVES] + ranks]


def _grouped(rng, lines: int, sizes_of) -> tuple[np.ndarray, np.ndarray, int]:
    """(group of each line, position in its group, groups) for about `lines` lines."""
    sizes = sizes_of(max(1, lines))
    sizes = sizes[: np.searchsorted(np.cumsum(sizes), lines) + 1]
    group = np.repeat(np.arange(len(sizes)), sizes)[:lines]
    starts = np.cumsum(sizes) - sizes
    return group, np.arange(len(group)) - starts[group], len(sizes)


def _related(pop, rng, group, position, groups, same_share) -> np.ndarray:
    """First line of each group drawn globally; later ones often from its category."""
    first = pop.draw(rng, groups)
    products = pop.draw(rng, len(group))
    near = (position > 0) & (rng.random(len(group)) < same_share)
    products[near] = pop.near(rng, first[group[near]])
    products[position == 0] = first[group[position == 0]]
    return products


def _part(kind: str, products, visitors, times, orders=None) -> dict:
    count = len(products)
    return {
        "kind": np.full(count, KINDS.index(kind), dtype=np.int8),
        "product": products.astype(np.int64),
        "order": np.full(count, -1, dtype=np.int64) if orders is None else orders,
        "visitor": visitors,
        "time": times,
    }


def history(pop, rng, events: int, visitors: int, now: float, days: float) -> dict:
    """About `events` events as parallel arrays: kind code, product id, order (-1: none),
    visitor number, time (Unix s), quantity and unit price in cents (purchases)."""
    lines = {kind: round(events * share) for kind, share in KIND_SHARES.items()}
    lines["view"] = events - sum(lines.values())
    parts = []
    # Orders: basket sizes 1–8, repeated products of an order counted once (as the refresh does).
    group, position, orders = _grouped(
        rng, lines["purchase"], lambda n: rng.choice(BASKET_SIZES, n, p=BASKET_WEIGHTS)
    )
    products = _related(pop, rng, group, position, orders, SAME_CATEGORY["purchase"])
    _, keep = np.unique(group * (len(pop.by_rank) + 1) + products, return_index=True)
    group, products = group[np.sort(keep)], products[np.sort(keep)]
    order_times = now - MARGIN_S - rng.random(orders) * days * DAY_S
    order_visitors = rng.integers(0, visitors, orders)
    parts.append(
        _part("purchase", products, order_visitors[group], order_times[group], orders=group)
    )
    # View sessions: a visitor's views a minute or two apart, often within one category.
    group, position, sessions = _grouped(
        rng, lines["view"], lambda n: np.minimum(rng.geometric(SESSION_P, n), MAX_SESSION)
    )
    products = _related(pop, rng, group, position, sessions, SAME_CATEGORY["view"])
    starts = now - 2 * MARGIN_S - rng.random(sessions) * days * DAY_S
    times = starts[group] + position * 75 + rng.uniform(0, 30, len(group))
    session_visitors = rng.integers(0, visitors, sessions)
    parts.append(_part("view", products, session_visitors[group], times))
    for kind in ("add_to_cart", "click"):
        count = lines[kind]
        times = now - MARGIN_S - rng.random(count) * days * DAY_S
        parts.append(_part(kind, pop.draw(rng, count), rng.integers(0, visitors, count), times))
    result = {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}
    result["quantity"] = rng.choice([1, 1, 1, 1, 2, 3], len(result["kind"]))
    result["cents"] = rng.integers(199, 20_000, len(result["kind"]))
    return result


def visitor_id(number: int) -> str:
    return f"bench-visitor-{number}"


def regular_numbers(visitors: int) -> range:
    """The regular customers' visitor numbers: one per 50 ordinary visitors, numbered after them."""
    return range(visitors, visitors + min(REGULARS_MAX, max(1, visitors // 50)))


def with_regulars(pop, rng, events: dict, visitors: int, now: float, days: float) -> dict:
    """`events` and the regulars' own history of the same kind (REGULAR_EVENTS each, about)."""
    regulars = regular_numbers(visitors)
    extra = history(pop, rng, len(regulars) * REGULAR_EVENTS, len(regulars), now, days)
    extra["visitor"] = extra["visitor"] + regulars.start
    extra["order"] = np.where(extra["order"] >= 0, extra["order"] + events["order"].max() + 1, -1)
    return {key: np.concatenate([events[key], extra[key]]) for key in events}


# --- the history written with COPY --------------------------------------------------------------
def history_copy(events: dict, stamp: str) -> None:
    """Events and their keys, as the import path stores them (source `import`)."""
    from behaviour import partitions
    from behaviour.visitors import visitor_hash

    moments = events["time"]
    days = np.arange(moments.min(), moments.max() + DAY_S, DAY_S)
    partitions.partitions_ensure(
        partitions.month_start(dt.datetime.fromtimestamp(t, dt.UTC)) for t in [*days, moments.max()]
    )
    hashes = [visitor_hash(visitor_id(v)) for v in range(int(events["visitor"].max()) + 1)]
    stamps = np.datetime_as_string((moments * 1e6).astype("datetime64[us]"), timezone="UTC")
    # Plain lists: indexing NumPy arrays per row costs more than the formatting itself.
    kinds, visitors, products, orders, quantities, cents = (
        events[name].tolist()
        for name in ("kind", "visitor", "product", "order", "quantity", "cents")
    )
    purchase = KINDS.index("purchase")

    def purchase_fields(i: int) -> str:
        if kinds[i] != purchase:
            return "\t\\N\t\\N"  # no order id, quantity or price
        return f"ho{orders[i]}\t{quantities[i]}\t{cents[i] / 100:.2f}"

    def event_lines():
        for start in range(0, len(moments), COPY_CHUNK):
            rows = range(start, min(start + COPY_CHUNK, len(moments)))
            yield "".join(
                f"h{i}\t{stamps[i]}\t{KINDS[kinds[i]]}\t{hashes[visitors[i]]}\t{products[i]}"
                f"\t{purchase_fields(i)}\timport\n"
                for i in rows
            ).encode()

    def key_lines():
        for start in range(0, len(moments), COPY_CHUNK):
            rows = range(start, min(start + COPY_CHUNK, len(moments)))
            yield "".join(f"h{i}\t{stamps[i]}\t{stamp}\n" for i in rows).encode()

    latency._copy(
        "COPY behaviour_event (event_id, occurred_at, kind, visitor, product_id, order_id, "
        "quantity, unit_price, source) FROM STDIN",
        event_lines(),
    )
    latency._copy(
        "COPY behaviour_eventkey (event_id, occurred_at, received_at) FROM STDIN", key_lines()
    )
    for table in ("behaviour_event", "behaviour_eventkey"):
        latency.sql(f"VACUUM (ANALYZE) {table}")


def history_summary(events: dict) -> dict:
    purchase = events["kind"] == KINDS.index("purchase")
    orders = np.unique(events["order"][purchase])
    bought = np.unique(events["product"][purchase])
    return {
        "events": int(len(events["kind"])),
        "by_kind": {kind: int((events["kind"] == i).sum()) for i, kind in enumerate(KINDS)},
        "orders": int(len(orders)),
        "mean_basket": round(float(purchase.sum() / max(1, len(orders))), 2),
        "products_bought": int(len(bought)),
        "visitors": int(events["visitor"].max()) + 1,
        "days": HISTORY_DAYS,
    }


def regulars_summary(events: dict, regulars: range) -> dict:
    counts = np.bincount(events["visitor"])[regulars.start : regulars.stop]
    return {
        "visitors": len(regulars),
        "events_median": int(np.median(counts)),
        "events_min": int(counts.min()),
    }


def regulars_text(summary: dict) -> str:
    regulars = summary.get("regulars")
    if not regulars:
        return "no regular customers"
    return (
        f"{regulars['visitors']} of them regular customers with {regulars['events_median']} "
        f"events each at the median, {regulars['events_min']} at least"
    )


def catalogue_build(args, rng) -> tuple[Popularity, dict]:
    """Products (COPY), vectors and their index unless --no-vectors, then the history."""
    started = time.monotonic()
    leaves = latency.categories_create()
    stamp = dt.datetime.now(dt.UTC).isoformat()
    latency.products_copy(1, args.products, leaves, args.seed, stamp, images=False)
    setup: dict = {}
    if not args.no_vectors:
        version = latency.version_create("bench-behaviour-clustered", active=True)
        latency.vectors_copy(version, "clustered", 1, args.products, args.seed, images=False)
        latency.vacuum_analyze()
        setup["index"] = latency.index_build(version)
    setup["catalogue_s"] = round(time.monotonic() - started, 1)
    pop = Popularity(args.products, rng)
    started = time.monotonic()
    visitors = max(1, args.events // EVENTS_PER_VISITOR)
    now = time.time()
    events = history(pop, rng, args.events, visitors, now, HISTORY_DAYS)
    events = with_regulars(pop, rng, events, visitors, now, HISTORY_DAYS)
    history_copy(events, stamp)
    setup["history"] = history_summary(events)
    setup["history"]["regulars"] = regulars_summary(events, regular_numbers(visitors))
    setup["history_s"] = round(time.monotonic() - started, 1)
    log(f"catalogue and history written: {setup}")
    return pop, setup
