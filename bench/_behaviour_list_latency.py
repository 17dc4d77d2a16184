"""The uncached lists of bench/behaviour_serving.py: bought together, also viewed and trending
from a sequential Python client and from wrk, and their tables for the report."""

import json
import shutil
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import similar_latency as latency
from _behaviour_measure import load_avg
from _report import log, markdown_table

K = 10
WRK_LUA = """
threads = {}
counter = 0
hits = 0
errors = 0
local n, stride, offset = %(n)d, %(stride)d, %(offset)d
local auth = "%(auth)s"

function setup(thread) table.insert(threads, thread) end

function request()
  counter = counter + 1
  local product = (offset + counter * stride) %% n + 1
  local path = string.format("/api/v1/products/BL-%%07d/%(list)s/?k=%(k)d", product)
  return wrk.format("GET", path, {["Authorization"] = auth})
end

function response(status, headers, body)
  if status ~= 200 then errors = errors + 1 end
  if headers["X-Cache"] == "hit" then hits = hits + 1 end
end

function done(summary, latency, requests)
  local h, e = 0, 0
  for _, t in ipairs(threads) do h = h + t:get("hits"); e = e + t:get("errors") end
  io.write(string.format("BENCH requests=%%d hits=%%d errors=%%d p50_us=%%d p99_us=%%d\\n",
    summary.requests, h, e, latency:percentile(50), latency:percentile(99)))
end
"""


# --- list latency -------------------------------------------------------------------------------
def get_timed(port: int, path: str, key: str) -> tuple[float, int, dict, bytes]:
    started = time.perf_counter()
    status, headers, body = latency.get(port, path, {"Authorization": f"Api-Key {key}"})
    return (time.perf_counter() - started) * 1000, status, headers, body


def sequential(port: int, key: str, paths: list[str], *, clear_each: bool = False) -> dict:
    """One request after another (a new connection each); every answer must be a cache miss
    with k items. By fill: `own` = all k items from the product's own list."""
    from django.core.cache import cache

    cache.clear()
    times, views, fills = [], [], defaultdict(list)
    problems = defaultdict(int)
    for path in paths:
        if clear_each:
            cache.clear()
        ms, status, headers, body = get_timed(port, path, key)
        payload = json.loads(body) if status == 200 else {}
        times.append(ms)
        views.append(float(headers.get("Server-Timing", "dur=nan").split("dur=")[1]))
        if status != 200 and not problems["non-200"]:
            log(f"  first non-200 answer: {status} {path} {body[:300]!r}")
        problems["non-200"] += status != 200
        problems["cache hits"] += headers.get("X-Cache") == "hit"
        problems[f"k < {K}"] += payload.get("k_returned", 0) < K
        tiers = [item["tier"] for item in payload.get("results", [])]
        own = sum(tier in ("bought_together", "also_viewed") for tier in tiers)
        fill = "own" if own == K else "partly own" if own else "none own"
        fills[fill].append(ms)
        for tier in set(tiers):
            problems[f"tier {tier}"] += 1
    return {
        **latency.percentiles(times),
        "server_view": latency.percentiles(views),
        "by_fill": {name: latency.percentiles(ms) for name, ms in sorted(fills.items())},
        "counts": dict(problems),
        "load_avg": load_avg(),
    }


def wrk_run(
    port: int,
    key: str,
    products: int,
    *,
    connections: int,
    seconds: int,
    work_dir: Path,
    offset: int,
    list_name: str = "bought-together",
) -> dict:
    from django.core.cache import cache

    cache.clear()
    script = work_dir / f"wrk-{list_name}-{connections}.lua"
    script.write_text(
        WRK_LUA
        % {
            "n": products,
            "stride": latency.SKU_STRIDE,
            "offset": offset,
            "auth": f"Api-Key {key}",
            "list": list_name,
            "k": K,
        }
    )
    figures, command = latency.wrk_figures(script, port, connections=connections, seconds=seconds)
    result = {**figures, "command": command, "load_avg": load_avg()}
    log(f"  wrk {list_name}: {result}")
    return result


def lists_measure(args, server, key: str, rng, work_dir: Path) -> dict:
    def path(list_name: str, product: int) -> str:
        return f"/api/v1/products/{latency.sku(product)}/{list_name}/?k={K}"

    ids = rng.permutation(np.arange(1, args.products + 1))
    warm, sample = ids[:20], ids[20 : 20 + min(args.requests, args.products - 20)]
    for product in warm:  # workers import, connect and load the serving state
        get_timed(server.port, path("bought-together", int(product)), key)
    result = {
        "bought_together": sequential(
            server.port, key, [path("bought-together", int(p)) for p in sample]
        ),
        "also_viewed": sequential(
            server.port,
            key,
            [path("also-viewed", int(p)) for p in sample[: args.other_requests]],
        ),
        "trending": sequential(
            server.port, key, [f"/api/v1/trending/?k={K}"] * args.other_requests, clear_each=True
        ),
    }
    log(f"  lists (sequential): {result}")
    if shutil.which("wrk"):
        offset = int(rng.integers(args.products))
        result["wrk"] = [
            wrk_run(
                server.port,
                key,
                args.products,
                connections=c,
                seconds=args.duration,
                work_dir=work_dir,
                offset=offset + c * 7,
            )
            for c in (1, 4)
        ]
    return result


# --- report -------------------------------------------------------------------------------------
def lists_table(lists: dict) -> str:
    header = [
        "sequential client",
        "n",
        "p50 ms",
        "p99 ms",
        "view p50 ms",
        "view p99 ms",
        "answers by tier (count of answers holding it)",
        "load 1/5/15 min",
    ]
    lines = []
    for name in ("bought_together", "also_viewed", "trending"):
        lat = lists[name]
        tiers = ", ".join(
            f"{k[5:]} {v}" for k, v in sorted(lat["counts"].items()) if k.startswith("tier ")
        )
        lines.append(
            [
                name.replace("_", " "),
                lat["n"],
                lat["p50_ms"],
                lat["p99_ms"],
                lat["server_view"]["p50_ms"],
                lat["server_view"]["p99_ms"],
                tiers,
                " / ".join(map(str, lat["load_avg"])),
            ]
        )
    fills = lists["bought_together"]["by_fill"]
    by_fill = markdown_table(
        ["bought together, answer filled by", "n", "p50 ms", "p99 ms"],
        [[name, s["n"], s["p50_ms"], s["p99_ms"]] for name, s in fills.items()],
    )
    return markdown_table(header, lines) + "\n\n" + by_fill
