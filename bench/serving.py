"""Serving under filters and under load: prodsim's real selector and its HTTP API.

One synthetic catalogue (similar_latency.py's COPY writer: products, one image row each, and
one active version of clustered 256-d vectors with its HNSW index built as the app builds it)
serves two measurements:

  filtered   `similar_products_for` (image signal only, k = 10) with a brand filter keeping
             50 %, 10 %, 1 % and 0.1 % of the products (brands dealt by a seeded shuffle, so
             uncorrelated with the vectors): rows returned vs k, Recall@10 against the exact
             filtered top 10 (NumPy over the same allowed set that the selector's filter
             selects), p50/p99; reference: the unfiltered call in the same passes.
  api        gunicorn (2 workers) on loopback under wrk at several connection counts: similar
             uncached (a new SKU per request, cache cleared before each run), similar cached
             (one SKU), search by image (the default version's forward pass, random-init:
             its backbones side by side, exported for the active version), vs the trivial
             `GET /api/v1/model-versions/` on the same server in the same repeat; non-2xx
             responses and socket errors are counted. `--image-models 1` measures one model.

Every figure is the median (min–max) over --repeats passes or runs. Works in its own
database (`prodsim_bench_serving`, dropped at the end) and Valkey database 10.

    .venv/bin/python bench/serving.py             # 100k products (~15 min on 2 cores)
    .venv/bin/python bench/serving.py --quick     # 20k products, shorter runs (~7 min)
    .venv/bin/python bench/serving.py --smoke     # 2k products, 1 s runs: harness check
"""

import argparse
import http.client
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import similar_latency as latency
from _report import (
    fmt_spread,
    log,
    machine_info,
    markdown_table,
    print_json,
    section_name,
    spread,
    write_section,
)

SECTIONS = {"filtered": "filtered-queries", "api": "api-load"}
DATABASE_NAME = "prodsim_bench_serving"
CACHE_DB = 10  # similar_latency.py uses 9; development 0, tests 1
K = latency.K
SELECTIVITIES = {"Brand Half": 0.5, "Brand Tenth": 0.1, "Brand Hundredth": 0.01}
SELECTIVITIES["Brand Thousandth"] = 0.001
OTHER_BRAND = "Brand Other"
PROFILES = {
    "smoke": {"products": 2_000, "queries": 10, "connections": (1, 4), "duration": 1},
    "quick": {"products": 20_000, "queries": 40, "connections": (1, 4, 16), "duration": 4},
    "default": {"products": 100_000, "queries": 100, "connections": (1, 4, 16), "duration": 8},
}
ENDPOINTS = ("trivial (model-versions)", "similar cached", "similar uncached", "search by image")
IMAGE_PATH = "/api/v1/search/image/"
ERROR_NO_WRK = "wrk is not on the PATH (Debian: apt-get install -y wrk): API load skipped"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group()
    for name in ("smoke", "quick"):
        group.add_argument(f"--{name}", action="store_true", help=f"the {name} profile")
    parser.add_argument("--full", action="store_true", help="same as the default profile")
    parser.add_argument("--products", type=int)
    parser.add_argument("--queries", type=int, help="source products per filtered pass")
    parser.add_argument("--duration", type=int, help="seconds per wrk run")
    parser.add_argument("--repeats", type=int, default=3, help="passes / wrk runs (≥ 3)")
    parser.add_argument("--only", choices=sorted(SECTIONS), help="one measurement only")
    parser.add_argument("--database", default=DATABASE_NAME)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument(
        "--image-models",
        type=int,
        help="models side by side in the photo search's forward (default: the shop default's)",
    )
    parser.add_argument("--no-doc", action="store_true", help="do not rewrite docs/BENCHMARKS.md")
    args = parser.parse_args(argv)
    args.profile = next((p for p in ("smoke", "quick") if getattr(args, p)), "default")
    profile = PROFILES[args.profile]
    args.connections = profile["connections"]
    for name in ("products", "queries", "duration"):
        if getattr(args, name) is None:
            setattr(args, name, profile[name])
    return args


# --- catalogue ----------------------------------------------------------------------------------
def catalogue_build(args):
    """Products 1..N, one active version of clustered vectors and its HNSW index; brands
    re-dealt so that each SELECTIVITIES brand owns its share of the products."""
    from catalog.models import Product

    leaves = latency.categories_create()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    latency.products_copy(1, args.products, leaves, args.seed, stamp)
    version = latency.version_create("bench-serving-clustered", active=True)
    latency.vectors_copy(version, "clustered", 1, args.products, args.seed, images=True)
    shuffled = np.random.default_rng(args.seed).permutation(np.arange(1, args.products + 1))
    Product.objects.update(brand=OTHER_BRAND)
    start = 0
    for brand, share in SELECTIVITIES.items():
        count = max(K + 3, round(share * args.products))  # ≥ k besides the source's variants
        ids = shuffled[start : start + count].tolist()
        Product.objects.filter(pk__in=ids).update(brand=brand)
        start += count
    latency.vacuum_analyze()
    build = latency.index_build(version)
    return version, build


# --- filtered queries through the selector ------------------------------------------------------
def image_only_query(brand: str | None):
    from similarity.fusion import Weights
    from similarity.selectors import SimilarQuery

    weights = Weights(image=1.0, text=0.0, text_learned=0.0, attributes=0.0, price=0.0)
    return SimilarQuery(k=K, brands=(brand,) if brand else (), weights=weights)


def allowed_ids(product, query) -> list[int]:
    """The products the selector's own filter admits for this source (its exact reference)."""
    from catalog import selectors as catalog_selectors
    from similarity.selectors.similar import product_filter_for

    [facts] = catalog_selectors.product_facts(product_ids=[product.pk])
    product_filter = product_filter_for(facts, query, [product.pk], product.group_id)
    matching = catalog_selectors.products_matching(product_filter=product_filter)
    return list(matching.values_list("pk", flat=True))


def exact_top(vectors: np.ndarray, index_of: dict, source: int, allowed: list[int]) -> list[int]:
    rows = np.array([index_of[pid] for pid in allowed if pid in index_of])
    scores = vectors[rows] @ vectors[index_of[source]]
    order = np.argsort(-scores, kind="stable")[:K]
    return [allowed[i] for i in order]


def filtered_measure(args, version) -> dict:
    from catalog.models import Product
    from similarity import vector_store
    from similarity.selectors import similar_products_for

    ids, vectors = vector_store.product_vectors(version=version)
    index_of = {pid: row for row, pid in enumerate(ids)}
    rng = np.random.default_rng(args.seed + 1)
    sources = list(
        Product.objects.filter(pk__in=rng.choice(ids, args.queries, replace=False).tolist())
    )
    arms = {"unfiltered": None, **{brand: brand for brand in SELECTIVITIES}}
    truth, allowed_counts = {}, {}
    for name, brand in arms.items():
        query = image_only_query(brand)
        for product in sources:
            allowed = allowed_ids(product, query)
            allowed_counts.setdefault(name, []).append(len(allowed))
            truth[name, product.pk] = exact_top(vectors, index_of, product.pk, allowed)
    times: dict = {name: [] for name in arms}
    found: dict = {}
    for number in range(args.repeats):
        for name, brand in arms.items():  # interleaved: load swings hit every arm alike
            query, ms = image_only_query(brand), []
            for product in sources:
                started = time.perf_counter()
                result = similar_products_for(product=product, query=query)
                ms.append((time.perf_counter() - started) * 1000)
                found[name, product.pk] = [item.product.pk for item in result.items]
            times[name].append(ms)
        log(f"  filtered pass {number + 1}/{args.repeats} done")
    rows = {}
    for name in arms:
        hits = sum(len(set(found[name, p.pk]) & set(truth[name, p.pk])) for p in sources)
        expected = [min(K, len(truth[name, p.pk])) for p in sources]
        returned = [len(found[name, p.pk]) for p in sources]
        rows[name] = {
            "share": SELECTIVITIES.get(name, 1.0),
            "allowed_median": int(np.median(allowed_counts[name])),
            "recall_at_10": round(hits / max(1, sum(expected)), 4),
            "k_exact": sum(r == e for r, e in zip(returned, expected, strict=True)),
            "returned_mean": round(float(np.mean(returned)), 2),
            "queries": len(sources),
            "p50_ms": spread([np.percentile(ms, 50) for ms in times[name]]),
            "p99_ms": spread([np.percentile(ms, 99) for ms in times[name]]),
        }
        log(f"  {name}: {rows[name]}")
    from similarity.selectors import similar

    return {"rows": rows, "exact_scan_max": similar.EXACT_SCAN_MAX, "products": args.products}


def filtered_markdown(figures: dict, command: str, build: dict) -> str:
    filtered = figures["filtered"]
    rows, reference = filtered["rows"], filtered["rows"]["unfiltered"]
    lines = []
    for name, row in rows.items():
        label = "none (reference)" if name == "unfiltered" else f"brand = {name}"
        lines.append(
            [
                label,
                f"{row['share']:.1%}",
                row["allowed_median"],
                f"{row['k_exact']}/{row['queries']}",
                row["returned_mean"],
                f"{row['recall_at_10']:.3f}",
                fmt_spread(row["p50_ms"]),
                fmt_spread(row["p99_ms"]),
                f"{row['p99_ms']['median'] / reference['p99_ms']['median']:.2f}",
            ]
        )
    header = [
        "filter",
        "share of products",
        "allowed (median)",
        "answers with k = min(10, allowed)",
        "rows returned (mean)",
        "Recall@10 vs exact filtered",
        "p50 ms",
        "p99 ms",
        "p99 ÷ unfiltered p99",
    ]
    return f"""### Filtered similar queries through the selector (`bench/serving.py`)

Command: `{command}`

{filtered["products"]:,} products (COPY-written, one image row each), one active version of
clustered 256-d vectors (clusters of {latency.CLUSTER_SIZE}), HNSW index built by
`vector_store.hnsw_index_build` in {build["seconds"]} s. Each source product asks
`similar_products_for(k={K}, brands=(…,))` with image-only fusion weights, so its ranking is
comparable with the exact top 10: NumPy over the vectors of exactly the products the selector's
own filter admits (source and its variants excluded). `EXACT_SCAN_MAX` =
{filtered["exact_scan_max"]:,}: smaller allowed sets take the exact scan, larger ones the HNSW
walk. Times in-process (no HTTP), p50/p99 over the sources per pass, **median (min–max) of the
passes**, filters interleaved within a pass. Other sessions' work shared the 2 cores.

{markdown_table(header, lines)}"""


# --- API load with wrk --------------------------------------------------------------------------
WRK_SCRIPT = """
threads = {}
counter = 0
errors = 0
hits = 0
local n, stride, offset = %(n)d, %(stride)d, %(offset)d
local auth = "%(auth)s"
local mode = "%(mode)s"
local fixed = "%(fixed)s"
local body = ""
local content_type = "%(content_type)s"
if mode == "post" then
  local file = io.open("%(body_file)s", "rb")
  body = file:read("*all")
  file:close()
end

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads - 1)
end

function request()
  counter = counter + 1
  local headers = {["Authorization"] = auth}
  if mode == "post" then
    headers["Content-Type"] = content_type
    return wrk.format("POST", fixed, headers, body)
  end
  if mode == "fixed" then return wrk.format("GET", fixed, headers) end
  -- each wrk thread has its own counter: interleave them so no two requests share a SKU
  local product = (offset + (counter * %(threads)d + tid) * stride) %% n + 1
  return wrk.format("GET", string.format("/api/v1/products/BL-%%07d/similar/?k=%(k)d", product),
    headers)
end

function response(status, headers, body)
  if status < 200 or status > 299 then errors = errors + 1 end
  if headers["X-Cache"] == "hit" then hits = hits + 1 end
end

function done(summary, latency, requests)
  local e, h = 0, 0
  for _, t in ipairs(threads) do e = e + t:get("errors"); h = h + t:get("hits") end
  local s = summary.errors
  io.write(string.format(
    "BENCH requests=%%d non2xx=%%d hits=%%d p50_us=%%d p99_us=%%d socket=%%d\\n",
    summary.requests, e, h, latency:percentile(50), latency:percentile(99),
    s.connect + s.read + s.write + s.timeout))
end
"""


def multipart(image: bytes) -> tuple[bytes, str]:
    boundary = "prodsim-bench-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="k"\r\n\r\n{K}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="image"; '
            f'filename="query.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'
        ).encode()
        + image
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


class Wrk:
    def __init__(self, port: int, key: str, products: int, work_dir: Path, seed: int):
        self.port, self.key, self.products, self.work_dir = port, key, products, work_dir
        self.rng = np.random.default_rng(seed)
        self.runs = 0

    def run(self, *, connections: int, seconds: int, mode: str, path: str = "", body=None):
        self.runs += 1
        script = self.work_dir / f"wrk-{self.runs}.lua"
        body_file = self.work_dir / "body.bin"
        content_type, threads = "", min(2, connections)
        if body is not None:
            data, content_type = body
            body_file.write_bytes(data)
        script.write_text(
            WRK_SCRIPT
            % {
                "n": self.products,
                "stride": latency.SKU_STRIDE,
                "offset": int(self.rng.integers(self.products)),
                "auth": f"Api-Key {self.key}",
                "mode": mode,
                "fixed": path,
                "body_file": str(body_file),
                "content_type": content_type,
                "k": K,
                "threads": threads,
            }
        )
        command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s"]
        command += ["-s", str(script), f"http://127.0.0.1:{self.port}"]
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        figures = dict(re.findall(r"(\w+)=(\d+)", output.split("BENCH", 1)[1]))
        return {
            "connections": connections,
            "requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
            "requests": int(figures["requests"]),
            "non_2xx": int(figures["non2xx"]),
            "socket_errors": int(figures["socket"]),
            "cache_hits": int(figures["hits"]),
            "p50_ms": int(figures["p50_us"]) / 1000,
            "p99_ms": int(figures["p99_us"]) / 1000,
            "load_avg": round(os.getloadavg()[0], 2),
        }


def image_search_artifact(version, work_dir: Path, models: int) -> tuple[float, str]:
    """Export, for the active version, the forward pass a shop's default version serves: its
    backbone at its input size, `models` of them side by side (similarity.ml.side_by_side), each
    with an equal share of the version's dimensions. Random-init: the weights do not change the
    serving cost. Seconds taken, and the exported model in words."""
    from similarity.ml.backbones import build_backbone, build_embedding_model
    from similarity.ml.export import export_model
    from similarity.ml.side_by_side import side_by_side
    from similarity.services.versions import DEFAULT_TRAINING

    started = time.monotonic()
    size = DEFAULT_TRAINING["input_size"]
    members = [
        build_embedding_model(
            build_backbone(DEFAULT_TRAINING["backbone"], input_size=size, weights="none"),
            embedding_dim=version.vector_dim // models,
        )
        for _ in range(models)
    ]
    directory = work_dir / "models" / "bench-image-search"
    check = np.random.default_rng(0).integers(0, 256, (2, size, size, 3), dtype=np.uint8)
    metadata = {"benchmark": "serving"}
    export_model(side_by_side(members), directory=directory, metadata=metadata, check_images=check)
    version.artifact_dir, version.input_size = str(directory), size
    version.save(update_fields=["artifact_dir", "input_size"])
    seconds = time.monotonic() - started
    backbone = f"{DEFAULT_TRAINING['backbone']} at {size} px"
    described = f"{models} × {backbone} side by side" if models > 1 else f"one {backbone}"
    return seconds, f"{described}, {version.vector_dim} dimensions"


def query_photo(seed: int) -> bytes:
    import io

    from PIL import Image

    pixels = np.random.default_rng(seed).integers(0, 256, (400, 300, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).resize((300, 400)).save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def post(port: int, path: str, body: tuple[bytes, str], headers: dict) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("POST", path, body=body[0], headers={**headers, "Content-Type": body[1]})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def api_measure(args, work_dir: Path, version) -> dict:
    from django.core.cache import cache

    from partners.models import PartnerApiKey
    from similarity.services.versions import DEFAULT_TRAINING

    models = args.image_models or DEFAULT_TRAINING["refit_models"]
    artifact_s, image_model = image_search_artifact(version, work_dir, models)
    # Search by image is a POST, which the partner API lets only write-scope keys make.
    _, key = PartnerApiKey.objects.create_key(name="bench-serving", scope="write")
    photo = multipart(query_photo(args.seed))
    cached_path = f"/api/v1/products/{latency.sku(1)}/similar/?k={K}"
    runs: dict = {(name, c): [] for name in ENDPOINTS for c in args.connections}
    with latency.Server(work_dir) as server:
        wrk = Wrk(server.port, key, args.products, work_dir, args.seed)
        auth = {"Authorization": f"Api-Key {key}"}
        status, _, body = latency.get(server.port, cached_path, auth)  # fills the cached entry
        assert status == 200, body[:300]
        status, body = post(server.port, IMAGE_PATH, photo, auth)
        assert status == 200, f"image search answered {status}: {body[:300]}"
        for mode, path, body in (("fixed", cached_path, None), ("post", IMAGE_PATH, photo)):
            wrk.run(connections=2, seconds=1, mode=mode, path=path, body=body)  # warm-up
        for number in range(args.repeats):
            for connections in args.connections:
                arms = {
                    ENDPOINTS[0]: {"mode": "fixed", "path": "/api/v1/model-versions/"},
                    ENDPOINTS[1]: {"mode": "fixed", "path": cached_path},
                    ENDPOINTS[2]: {"mode": "walk"},
                    ENDPOINTS[3]: {"mode": "post", "path": IMAGE_PATH, "body": photo},
                }
                for name, arm in arms.items():
                    if name == ENDPOINTS[2]:
                        cache.clear()
                        latency.get(server.port, cached_path, auth)  # the cached arm stays warm
                    result = wrk.run(connections=connections, seconds=args.duration, **arm)
                    runs[name, connections].append(result)
                    log(f"  repeat {number + 1} {name} c={connections}: {result}")
        server_command = shlex.join(["python", *server.command[1:]])
    return {
        "runs": {f"{name}|{c}": value for (name, c), value in runs.items()},
        "connections": list(args.connections),
        "duration_s": args.duration,
        "repeats": args.repeats,
        "server_command": server_command,
        "artifact_s": round(artifact_s, 1),
        "query_photo_kb": round(len(photo[0]) / 1024, 1),
        "image_model": image_model,
    }


def api_markdown(figures: dict, command: str) -> str:
    api = figures["api"]
    lines, errors = [], 0
    for name in ENDPOINTS:
        for connections in api["connections"]:
            runs = api["runs"][f"{name}|{connections}"]
            trivial = api["runs"][f"{ENDPOINTS[0]}|{connections}"]
            ratios = [
                run["requests_per_s"] / ref["requests_per_s"]
                for run, ref in zip(runs, trivial, strict=True)
            ]
            bad = sum(run["non_2xx"] + run["socket_errors"] for run in runs)
            errors += bad
            lines.append(
                [
                    name,
                    connections,
                    fmt_spread(spread([r["requests_per_s"] for r in runs])),
                    fmt_spread(spread([r["p50_ms"] for r in runs])),
                    fmt_spread(spread([r["p99_ms"] for r in runs])),
                    "1 (reference)" if name == ENDPOINTS[0] else fmt_spread(spread(ratios), 2),
                    sum(r["cache_hits"] for r in runs),
                    bad,
                ]
            )
    header = [
        "endpoint",
        "connections",
        "req/s",
        "p50 ms",
        "p99 ms",
        "req/s ÷ trivial (same repeat)",
        "X-Cache hits",
        "non-2xx + socket errors",
    ]
    verdict = "**zero**" if errors == 0 else f"**{errors} — NOT ZERO**"
    return f"""### API under load: wrk against gunicorn (`bench/serving.py`)

Command: `{command}`

Same catalogue as the filtered section ({figures["filtered_products"]:,} products). Served by
`{api["server_command"]}`; wrk (`-t min(2, c) -c c -d {api["duration_s"]}s`) on the same
machine. Endpoints: `GET /api/v1/model-versions/` (trivial DRF list, the reference),
`GET /api/v1/products/<sku>/similar/?k={K}` for one SKU (cached) and for a new SKU on every
request (uncached; cache cleared before each run), `POST /api/v1/search/image/` (multipart
{api["query_photo_kb"]} KB JPEG; the default version's forward pass, {api["image_model"]},
random-init, LiteRT in the web workers). Each cell is the **median (min–max) of
{api["repeats"]} runs**, endpoints interleaved within a repeat, so each ratio divides by the
trivial endpoint measured minutes apart at most.
Server, database, wrk and other sessions' work share the 2 cores. Errors over all runs:
{verdict}.

{markdown_table(header, lines)}"""


# --- main ---------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # the artifact export's info lines
    machine = machine_info()
    command = shlex.join([".venv/bin/python", "bench/serving.py", *(argv or sys.argv[1:])])
    want = [args.only] if args.only else list(SECTIONS)
    if "api" in want and not shutil.which("wrk"):
        log(ERROR_NO_WRK)
        print(ERROR_NO_WRK)
        want.remove("api")
    if not want:
        return {}
    work_dir = Path(tempfile.mkdtemp(prefix="bench-serving-"))
    latency.CACHE_DB = CACHE_DB  # django_setup points the cache at this Valkey database
    started = time.monotonic()
    figures: dict = {"profile": args.profile, "machine": machine, "command": command}
    try:
        latency.django_setup(args.database, work_dir)
        version, build = catalogue_build(args)
        figures["build"] = build
        figures["filtered_products"] = args.products
        if "filtered" in want:
            figures["filtered"] = filtered_measure(args, version)
        if "api" in want:
            figures["api"] = api_measure(args, work_dir, version)
    finally:
        if "django" in sys.modules:
            latency.drop_database(args.database)
        shutil.rmtree(work_dir, ignore_errors=True)
    for part in want:
        name = SECTIONS[part]
        if part == "filtered":
            markdown = filtered_markdown(figures, command, figures["build"])
        else:
            markdown = api_markdown(figures, command)
        print(markdown)
        if not args.no_doc:
            path = write_section(name, markdown, machine=machine)
            log(f"wrote section {section_name(name)!r} of {path}")
    print_json("serving", figures)
    log(f"done in {time.monotonic() - started:.0f} s")
    return figures


if __name__ == "__main__":
    main()
