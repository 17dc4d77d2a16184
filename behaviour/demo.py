"""A believable order and browsing history for the demo shop, generated offline from one seed.

Shoppers buy bundles: products of different categories that go together, mostly within one
department (a mug with a plate, a t-shirt with sneakers and a hat), sometimes across (a notebook
with a backpack); popular bundles sell far more than the rest. Around them, orders of random
products are the noise. Seasons shift: some bundles sell all along, some only in recent weeks,
some only months ago, so the decayed lists and trending differ from plain counts. Browsing
visits stay within one category, a few minutes between pages, and every order line is viewed and
added to the basket just before it is bought.

`demo_history_events` is plain Python over the catalogue's (sku, category, price);
`demo_history_load` reads the catalogue and records the events like an import. Event ids come
from the seed and the event's position, so loading the same history again records nothing new.
"""

import datetime as dt
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from catalog import selectors as catalog_selectors

from .models import Event
from .services.ingest import ACCEPTED, DUPLICATE, MAX_BATCH, REJECTED, events_record

# Sized for the 360-product demo shop: about 20,000 events, every bundle product with dozens of
# orders, loaded in well under a minute on 2 cores.
ORDERS = 1_500
VISITS = 2_500
SHOPPERS = 400
HISTORY_DAYS = 180  # two seasons; the why-hint counts the last PRODSIM_BEHAVIOUR_WHY_DAYS
RECENT_DAYS = 45  # a "this season" bundle sells only in these last days
PRODUCTS_PER_BUNDLE = 6  # one bundle per six products: most products belong to none
BUNDLE_ORDER_SHARE = 0.65  # the rest are noise orders of random products
SAME_DEPARTMENT = 0.8  # bundles within a department ("Home", "Fashion"); the rest across
SEASONS = ("always", "always", "recent", "past")  # half sell all along
EXTRA_LINE = 0.2  # a bundle order with one random product more
PART_OF_SET = 0.3  # a three-product bundle bought without one of them
PAGES_PER_VISIT = (2, 6)
MINUTES_BETWEEN_PAGES = (0.5, 6.0)  # well inside PRODSIM_SESSION_GAP_S (30 minutes)
EARLIEST_MINUTES_AGO = 15  # every event lies in the past, the views before an order included
SECOND_ITEM = 0.15  # order lines of two
MINUTES_PER_DAY = 24 * 60


@dataclass(frozen=True)
class DemoProduct:
    sku: str
    category: str  # path, "" for none
    price: Decimal


@dataclass(frozen=True)
class Bundle:
    skus: tuple[str, ...]
    season: str  # "always", "recent" (last RECENT_DAYS) or "past" (the older half)


@dataclass(frozen=True)
class DemoHistory:
    bundles: list[Bundle]
    events: list[dict]  # as the events API takes them, oldest and newest mixed


@dataclass(frozen=True)
class DemoHistoryLoaded:
    bundles: list[Bundle]
    accepted: int
    duplicates: int
    rejected: int


def demo_history_events(
    *,
    products: Sequence[DemoProduct],
    now: dt.datetime,
    seed: int = 7,
    orders: int = ORDERS,
    visits: int = VISITS,
    days: float = HISTORY_DAYS,
) -> DemoHistory:
    """The history of `orders` orders and `visits` browsing visits over the `days` before `now`.

    Deterministic: the same products (in any order), seed and counts give the same events, up
    to their times, which are relative to `now`."""
    products = sorted(products, key=lambda p: p.sku)
    if not products:
        return DemoHistory(bundles=[], events=[])
    rng = random.Random(seed)
    by_category: dict[str, list[DemoProduct]] = {}
    for product in products:
        by_category.setdefault(product.category, []).append(product)
    appeal = {p.sku: rng.paretovariate(2.0) for p in products}  # a few products draw most views
    bundles = _bundles(by_category, len(products), rng)
    maker = _Events(seed, now, {p.sku: p.price for p in products})
    for _ in range(orders):
        skus, window = _order(bundles, products, days, rng)
        maker.order(_shopper(rng), skus, _moment(window, rng), rng)
    categories = sorted(by_category)
    for _ in range(visits):
        shelf = by_category[rng.choices(categories, [len(by_category[c]) for c in categories])[0]]
        pages = rng.choices(shelf, [appeal[p.sku] for p in shelf], k=rng.randint(*PAGES_PER_VISIT))
        maker.visit(_shopper(rng), [p.sku for p in pages], _moment((0, days), rng), rng)
    return DemoHistory(bundles=bundles, events=maker.events)


def demo_history_load(
    *, seed: int = 7, orders: int = ORDERS, visits: int = VISITS
) -> DemoHistoryLoaded:
    """Generate the history for the active catalogue and record it (source "import")."""
    products = [
        DemoProduct(p.sku, p.category.path if p.category else "", p.price)
        for p in catalog_selectors.product_list()
    ]
    days = min(HISTORY_DAYS, settings.PRODSIM_EVENT_RETENTION_DAYS - 1)
    history = demo_history_events(
        products=products, now=timezone.now(), seed=seed, orders=orders, visits=visits, days=days
    )
    counts: Counter[str] = Counter()
    for start in range(0, len(history.events), MAX_BATCH):
        batch = history.events[start : start + MAX_BATCH]
        counts.update(o.status for o in events_record(items=batch, source=Event.Source.IMPORT))
    return DemoHistoryLoaded(history.bundles, counts[ACCEPTED], counts[DUPLICATE], counts[REJECTED])


def _bundles(by_category: dict, product_count: int, rng: random.Random) -> list[Bundle]:
    """Products of two or three categories that go together; none when there is one category."""
    departments: dict[str, list[str]] = {}
    for category in sorted(by_category):
        departments.setdefault(category.split(" > ")[0], []).append(category)
    wide = [cats for cats in departments.values() if len(cats) >= 2]
    if len(by_category) < 2:
        return []
    bundles = []
    for _ in range(max(1, product_count // PRODUCTS_PER_BUNDLE)):
        pool = rng.choice(wide) if wide and rng.random() < SAME_DEPARTMENT else sorted(by_category)
        chosen = rng.sample(pool, min(len(pool), rng.choice((2, 2, 3))))
        skus = tuple(rng.choice(by_category[category]).sku for category in chosen)
        bundles.append(Bundle(skus, rng.choice(SEASONS)))
    return bundles


def _order(bundles, products, days: float, rng: random.Random) -> tuple[list[str], tuple]:
    """An order's SKUs and the (newest, oldest) days-ago window it falls in."""
    if bundles and rng.random() < BUNDLE_ORDER_SHARE:
        # Zipf-like: the first bundles are the best sellers.
        bundle = rng.choices(bundles, [1 / rank for rank in range(1, len(bundles) + 1)])[0]
        skus = list(bundle.skus)
        if len(skus) > 2 and rng.random() < PART_OF_SET:
            skus.remove(rng.choice(skus))  # not everyone buys the whole set
        if rng.random() < EXTRA_LINE:
            skus.append(rng.choice(products).sku)
        windows = {
            "always": (0, days),
            "recent": (0, min(RECENT_DAYS, days)),
            "past": (days / 2, days),
        }
        return list(dict.fromkeys(skus)), windows[bundle.season]
    size = min(len(products), rng.choice((1, 1, 2, 3)))
    return [p.sku for p in rng.sample(list(products), size)], (0, days)


def _shopper(rng: random.Random) -> str:
    return f"demo-shopper-{rng.randrange(SHOPPERS)}"


def _moment(window: tuple[float, float], rng: random.Random) -> float:
    """Minutes ago, within the window (in days ago) and never closer than EARLIEST_MINUTES_AGO."""
    newest = max(window[0] * MINUTES_PER_DAY, EARLIEST_MINUTES_AGO)
    return rng.uniform(newest, max(window[1] * MINUTES_PER_DAY, newest))


class _Events:
    """Builds the event dicts, numbering their ids in the order they are made."""

    def __init__(self, seed: int, now: dt.datetime, prices: dict[str, Decimal]):
        self.seed, self.now, self.prices = seed, now, prices
        self.events: list[dict] = []

    def add(self, kind: str, sku: str, shopper: str, minutes_ago: float, **extra) -> None:
        at = self.now - dt.timedelta(minutes=minutes_ago)
        self.events.append(
            {
                "event_id": f"demo-{self.seed}-{len(self.events):07d}",
                "kind": kind,
                "sku": sku,
                "visitor_id": shopper,
                "occurred_at": at.isoformat(),
                **extra,
            }
        )

    def order(self, shopper: str, skus: list[str], minutes_ago: float, rng) -> None:
        """Each line viewed, then added to the basket, then bought: one order id for all."""
        order_id = f"demo-{self.seed}-order-{len(self.events):07d}"
        quantities = [2 if rng.random() < SECOND_ITEM else 1 for _ in skus]
        for line, (sku, quantity) in enumerate(zip(skus, quantities, strict=True)):
            start = minutes_ago + 3 * (len(skus) - line)  # three minutes per product
            self.add(Event.Kind.VIEW, sku, shopper, start)
            self.add(Event.Kind.ADD_TO_CART, sku, shopper, start - 1, quantity=quantity)
        for sku, quantity in zip(skus, quantities, strict=True):
            self.add(
                Event.Kind.PURCHASE,
                sku,
                shopper,
                minutes_ago,
                order_id=order_id,
                quantity=quantity,
                unit_price=str(self.prices[sku]),
            )

    def visit(self, shopper: str, skus: list[str], minutes_ago: float, rng) -> None:
        for sku in skus:
            self.add(Event.Kind.VIEW, sku, shopper, minutes_ago)
            minutes_ago = max(
                EARLIEST_MINUTES_AGO, minutes_ago - rng.uniform(*MINUTES_BETWEEN_PAGES)
            )
