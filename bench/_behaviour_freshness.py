"""Freshness in bench/behaviour_serving.py: beat simulated in a thread, a batch holding an
order of two never-bought products posted across its cycle, the seconds until the API lists the
pair; and the freshness table of the report."""

import datetime as dt
import json
import threading
import time

import numpy as np
import similar_latency as latency
from _behaviour_history import EVENTS_PER_VISITOR, visitor_id
from _behaviour_ingestion import BATCH, OFFSET, batch_events, body_of, post
from _behaviour_list_latency import K, get_timed
from _behaviour_measure import load_avg
from _report import log, markdown_table

POLL_S = 0.1  # freshness: the bought-together answer is polled this often


# --- freshness ----------------------------------------------------------------------------------
class Beat(threading.Thread):
    """Celery beat and a worker, in one thread: the refresh task every `interval` seconds (a
    tick missed while a refresh runs is dropped, as the schedule's `expires` drops it)."""

    def __init__(self, interval: float):
        super().__init__(daemon=True)
        self.interval, self.stop = interval, threading.Event()
        self.ticks: list[dict] = []
        self.error: BaseException | None = None
        self.busy = False  # inside a tick (its entry is appended before this turns False)
        self.origin = time.monotonic()

    def run(self) -> None:
        from django.db import connections

        from behaviour.models import BehaviourRefresh
        from behaviour.tasks import behaviour_refresh_task

        next_tick = self.origin
        try:
            while not self.stop.wait(max(0.0, next_tick - time.monotonic())):
                before = BehaviourRefresh.objects.values_list("pk", flat=True).order_by("-pk")
                last = before.first()
                self.busy, started = True, time.monotonic()
                behaviour_refresh_task()  # the task body: refreshes only when events arrived
                ended = time.monotonic()
                latest = BehaviourRefresh.objects.order_by("-pk").first()
                ran = latest is not None and latest.pk != last
                self.ticks.append(
                    {
                        "start": started,
                        "end": ended,
                        "refresh_s": round(ended - started, 2) if ran else None,
                    }
                )
                self.busy = False
                next_tick += self.interval
                while next_tick < time.monotonic():
                    next_tick += self.interval
        except Exception as exc:  # noqa: BLE001 (handed to the main thread, which raises it)
            self.error = exc
        finally:
            connections.close_all()


def cold_products(count: int, rng) -> list[int]:
    """Products with no bought-together list and in no one's list: never bought together."""
    from behaviour.models import ItemAssociation
    from catalog.models import Product

    listed = set(
        ItemAssociation.objects.filter(kind=ItemAssociation.Kind.BOUGHT_TOGETHER).values_list(
            "product_id", flat=True
        )
    )
    cold = [pk for pk in Product.objects.values_list("pk", flat=True) if pk not in listed]
    if len(cold) < count:
        raise RuntimeError(f"only {len(cold)} never-bought products; {count} needed")
    return [int(pk) for pk in rng.choice(cold, count, replace=False)]


def pair_listed(body: bytes, other: str) -> bool:
    return any(
        item["sku"] == other and item["tier"] == "bought_together"
        for item in json.loads(body)["results"]
    )


def freshness_trial(server, keys: dict, beat: Beat, pop, rng, pair, avoid, visitors, trial):
    """Post a batch holding an order of the pair at a random moment of the beat cycle; poll
    the first product's bought-together answer (through the cache, as shoppers see it).

    `trial` is (number, trials): trial n posts at a random moment of the n-th of `trials`
    equal slices of the cycle, so the trials together cover it from just after a tick (the
    longest wait) to just before one.

    The batch's other events leave out every trial's products (`avoid`, SKUs), so each pair
    stays the first product's only partner."""
    number, trials = trial
    first, second = (latency.sku(p) for p in pair)
    filler = [
        e for e in batch_events(pop, rng, f"fresh{number}", visitors) if e["sku"] not in avoid
    ][: BATCH - 2]
    now = dt.datetime.now(OFFSET) - dt.timedelta(seconds=30)
    order = {"order_id": f"fresh{number}-pair", "quantity": 1, "unit_price": "19.90"}
    pair_events = [
        {
            "event_id": f"fresh{number}-pair-{i}",
            "kind": "purchase",
            "sku": sku,
            "visitor_id": visitor_id(0),
            "occurred_at": now.isoformat(),
            **order,
        }
        for i, sku in enumerate((first, second))
    ]
    path = f"/api/v1/products/{first}/bought-together/?k={K}"
    _, status, _, before = get_timed(server.port, path, keys["read"])
    assert status == 200 and not pair_listed(before, second), before[:300]
    phase = float((number + rng.random()) / trials * beat.interval)
    cycles = np.ceil((time.monotonic() + 0.2 - beat.origin - phase) / beat.interval)
    time.sleep(max(0.0, beat.origin + phase + cycles * beat.interval - time.monotonic()))
    sent = time.monotonic()
    _, answer = post(server.port, keys["write"], body_of(filler + pair_events))
    posted = time.monotonic()
    assert answer["accepted"] == len(filler) + 2, {k: answer[k] for k in ("accepted", "rejected")}
    deadline = posted + 3 * beat.interval + 600
    seen, polls = None, 0
    while seen is None and time.monotonic() < deadline:
        if beat.error:
            raise beat.error
        _, status, _, body = get_timed(server.port, path, keys["read"])
        polls += 1
        if status == 200 and pair_listed(body, second):
            seen = time.monotonic()
        else:
            time.sleep(POLL_S)
    if seen is None:
        raise RuntimeError(f"the pair {first} + {second} never showed in {path}")
    while beat.busy:  # the tick that refreshed is recorded when it returns
        time.sleep(0.01)
    # The tick that made it visible started before it was seen; it may end after: its refresh
    # commits before the task returns (then the cache is cleared), and a poll can come between.
    covering = [t for t in beat.ticks if t["refresh_s"] is not None and t["start"] <= seen][-1]
    result = {
        "pair": [first, second],
        "beat_phase_s": round(phase, 2),
        "post_s": round(posted - sent, 3),
        "wait_for_tick_s": round(covering["start"] - posted, 2),
        "refresh_s": covering["refresh_s"],
        "visible_s": round(seen - sent, 2),
        "polls": polls,
        "load_avg": load_avg(),
    }
    log(f"  freshness trial {number}: {result}")
    return result


def freshness_measure(args, server, keys: dict, pop, rng) -> dict:
    from django.conf import settings

    interval = args.beat_interval or settings.PRODSIM_BEHAVIOUR_REFRESH_S
    visitors = max(1, args.events // EVENTS_PER_VISITOR)
    products = cold_products(2 * args.trials, rng)
    avoid = {latency.sku(p) for p in products}
    beat = Beat(interval)
    beat.start()
    try:
        trials = [
            freshness_trial(
                server,
                keys,
                beat,
                pop,
                rng,
                products[2 * t : 2 * t + 2],
                avoid,
                visitors,
                (t, args.trials),
            )
            for t in range(args.trials)
        ]
    finally:
        beat.stop.set()
        beat.join()
    if beat.error:
        raise beat.error
    return {"interval_s": interval, "trials": trials}


# --- report -------------------------------------------------------------------------------------
def freshness_table(fresh: dict) -> str:
    header = [
        "trial",
        "posted at beat phase s",
        "POST s",
        "wait for the tick s",
        "refresh s",
        "post → listed s",
        "load 1/5/15 min",
    ]
    return markdown_table(
        header,
        [
            [
                i + 1,
                t["beat_phase_s"],
                t["post_s"],
                t["wait_for_tick_s"],
                t["refresh_s"],
                t["visible_s"],
                " / ".join(map(str, t["load_avg"])),
            ]
            for i, t in enumerate(fresh["trials"])
        ],
    )
