"""The recommendations part of bench/behaviour_serving.py: a sequence model version trained on
the bench's history (a short training: what serving costs does not depend on how well it
learned) and its item vectors stored in pgvector (timed again: COPY and HNSW build); then, in
this process, the sequence signal from the version's HNSW index against the exact NumPy product
over its vectors file, side by side for the same visitors (recall of the index's top n, time);
then `GET /api/v1/visitors/<id>/recommendations/?k=10` uncached for returning visitors (about ten
events each), for regular customers (histories longer than the read window) and for visitors
without events, sequentially; and the read window's cost side by side (_recommendations_window).

`--from-json FILE` (a behaviour_serving.py JSON line saved to FILE) writes this part's own
`recommendations-serving` section of docs/BENCHMARKS.md from that run's figures, for runs made
with --no-doc (e.g. 100k products with the other phases cut short)."""

import argparse
import dataclasses
import json
import time

import numpy as np
from _recommendations_window import BASELINE_WINDOW, percentiles, window_costs, window_markdown
from _report import JSON_PREFIX, log, markdown_table, write_section

TARGET_P99_MS = 40.0
K = 10
# One epoch of the default model (architecture, width, history length as a shop trains them):
# enough for real weights and item vectors of every product, and served at the default's cost.
SEQUENCE_PARAMS = {"epochs": 1}
# A large catalogue trains on sampled negatives (the config's advice for large catalogues): a
# full softmax over 100k items per step would make the bench's one epoch take most of an hour.
LARGE_CATALOGUE = 20_000
LARGE_PARAMS = {"negatives": 1000, "batch_size": 512}
COMPARED_VISITORS = 300  # in-process index-versus-exact comparisons


def sequence_train(enabled: bool) -> dict:
    """Train and activate a version through the service (this process, like train_behaviour);
    its files go under the bench's PRODSIM_MODELS_ROOT (its work folder)."""
    if not enabled:
        return {"skipped": "--no-sequence or the smoke profile"}
    from behaviour.ml.sequence.config import SequenceConfig
    from behaviour.services.sequence import sequence_training_job_run, sequence_training_start
    from catalog.models import Product

    params = dict(SEQUENCE_PARAMS)
    if Product.objects.count() > LARGE_CATALOGUE:
        params.update(LARGE_PARAMS)
    job = sequence_training_start(config=SequenceConfig(**params), enqueue=False)
    started = time.perf_counter()
    job = sequence_training_job_run(job_id=job.pk)
    seconds = round(time.perf_counter() - started, 1)
    version = job.version
    version.refresh_from_db()
    result = {
        "state": job.state,
        "error": job.error,
        "seconds": seconds,
        "version_status": version.status,
        "metrics": version.metrics,
        "params": version.params,  # the whole SequenceConfig as trained
    }
    if job.state == "succeeded" and version.status != "active":
        from behaviour.services.sequence import sequence_version_activate

        sequence_version_activate(version=version)
        result["version_status"] = "active"
    if job.state == "succeeded":
        result["store"] = vectors_store_timed(version)
    log(f"  sequence training: {result}")
    return result


def vectors_store_timed(version) -> dict:
    """The version's item vectors stored again from its file, timed: the rows replaced by COPY
    in one transaction, then the HNSW index built (dropped first, as for a new version)."""
    from behaviour.models import SequenceModelVersion
    from behaviour.services.sequence import sequence_vectors_store
    from behaviour.services.sequence.vectors import item_vector_set
    from similarity import vector_store

    vector_store.item_vectors_index_drop(item_vector_set(version_id=version.pk, dim=0))
    SequenceModelVersion.objects.filter(pk=version.pk).update(vectors_stored_at=None)
    started = time.perf_counter()
    rows = sequence_vectors_store(version=version)
    return {
        "rows": rows,
        "seconds": round(time.perf_counter() - started, 2),
        "placement_check_ms": placement_check_timed(),
    }


def placement_check_timed(runs: int = 5) -> dict:
    """What each behaviour refresh beat spends placing new products when there are none (every
    product has its row): the anti-join over the catalogue, per stored version, timed."""
    from behaviour.services.sequence import sequence_vectors_place_all

    times = []
    for _ in range(runs):
        started = time.perf_counter()
        placed = sequence_vectors_place_all()
        times.append((time.perf_counter() - started) * 1000)
    return {
        "runs": runs,
        "placed": placed,
        "median": round(float(np.median(times)), 1),
        "max": round(max(times), 1),
    }


def index_versus_exact(rng, visitors: int, samples: int = COMPARED_VISITORS) -> dict:
    """The sequence signal of the same returning visitors from the active version's HNSW index
    and from the exact NumPy product over its vectors file (one BLAS thread, as the web process
    serves), interleaved: recall of the exact top n (the n = k x CANDIDATES_PER_SLOT candidates
    the fusion gets) and of its top k, and each path's time (visitor vector included)."""
    from threadpoolctl import ThreadpoolController

    from behaviour.models import SequenceModelVersion
    from behaviour.selectors.recommendations import visitor_history
    from behaviour.selectors.recommendations.recommend import CANDIDATES_PER_SLOT
    from behaviour.selectors.recommendations.sequence import sequence_signal, serving_model
    from behaviour.visitors import visitor_hash

    indexed = serving_model()
    if indexed is None or indexed.stored is None:
        return {"skipped": "no active version with stored vectors"}
    path = SequenceModelVersion.objects.get(pk=indexed.version_id).vectors_path
    with np.load(path) as stored:
        exact = dataclasses.replace(indexed, stored=None, vectors=stored["vectors"])
    n = K * CANDIDATES_PER_SLOT
    times = {"index": [], "exact": []}
    recall_n, recall_k = [], []
    blas = ThreadpoolController()
    for turn, number in enumerate(rng.permutation(visitors)[:samples]):
        history = visitor_history(visitor=visitor_hash(f"bench-visitor-{number}"))
        seen = set(history.weights)
        found = {}
        for name in ("index", "exact") if turn % 2 else ("exact", "index"):
            model = indexed if name == "index" else exact
            with blas.limit(limits=1, user_api="blas"):
                started = time.perf_counter()
                found[name] = sequence_signal(history, model, exclude=seen, n=n)
                times[name].append((time.perf_counter() - started) * 1000)
        truth = _ranked(found["exact"])
        if not truth:
            continue
        got = _ranked(found["index"])
        recall_n.append(len(set(got) & set(truth)) / len(truth))
        recall_k.append(len(set(got[:K]) & set(truth[:K])) / len(truth[:K]))
    return {
        "visitors": len(recall_n),
        "n": n,
        "products": int(len(indexed.product_ids)),
        f"recall_at_{n}": round(float(np.mean(recall_n)), 4),
        f"recall_at_{K}": round(float(np.mean(recall_k)), 4),
        **{f"{name}_ms": percentiles(values) for name, values in times.items()},
    }


def stage_times(rng, visitors: int, samples: int = COMPARED_VISITORS // 2) -> dict:
    """Where an uncached answer's time goes, in-process for returning visitors: each stage the
    selector runs (the visitor's events, the serving version, each signal), then the whole
    selector (filters, fusion, explanation and products included), p50 / p99 ms each."""
    from behaviour.selectors.recommendations import recommended_for, visitor_history
    from behaviour.selectors.recommendations import signals as sources
    from behaviour.selectors.recommendations.content import content_signal
    from behaviour.selectors.recommendations.peers import peers_signal
    from behaviour.selectors.recommendations.recommend import CANDIDATES_PER_SLOT
    from behaviour.selectors.recommendations.sequence import sequence_signal, serving_model
    from behaviour.visitors import visitor_hash
    from similarity.selectors import SimilarQuery
    from similarity.selectors.serving import serving_state
    from similarity.selectors.similar import product_filter_for

    n, query = K * CANDIDATES_PER_SLOT, SimilarQuery(k=K)
    times: dict[str, list[float]] = {}

    def timed(name, call, *args, **kwargs):
        started = time.perf_counter()
        value = call(*args, **kwargs)
        times.setdefault(name, []).append((time.perf_counter() - started) * 1000)
        return value

    for number in rng.permutation(visitors)[:samples]:
        visitor = visitor_hash(f"bench-visitor-{number}")
        history = timed("history (events read)", visitor_history, visitor=visitor)
        model = timed("serving version", serving_model)
        seen = {pid for pid in history.weights if pid not in history.bought}
        product_filter = product_filter_for(None, query, list(seen))
        timed("sequence (HNSW)", sequence_signal, history, model, exclude=seen, n=n)
        timed("co-occurrence", sources.cooccurrence, history, exclude=seen)
        timed(
            "content (image HNSW)",
            content_signal,
            history,
            version=serving_state().version,
            product_filter=product_filter,
            n=n,
        )
        timed("peers", peers_signal, history, model, exclude=seen, n=n)
        timed("whole selector", recommended_for, visitor=visitor, query=query)
    return {name: percentiles(values) for name, values in times.items()}


def _ranked(signal) -> list[int]:
    return sorted(signal.scores, key=lambda pid: (-signal.scores[pid], pid))


def recommendations_measure(
    sequential, get_timed, port, key, args, rng, visitors: int, regulars: range
) -> dict:
    """Uncached latency (each visitor asked once; the cache cleared first)."""
    k = 10

    def path(visitor: str) -> str:
        return f"/api/v1/visitors/{visitor}/recommendations/?k={k}"

    comparison = index_versus_exact(rng, visitors)
    log(f"  sequence signal, index versus exact: {comparison}")
    stages = stage_times(rng, visitors)
    log(f"  where the time goes, in-process: {stages}")
    window = window_costs(regulars, k)
    log(f"  the read window side by side, in-process: {window}")
    numbers = rng.permutation(visitors)[: 20 + args.requests]
    for number in numbers[:20]:  # workers load the sequence model's vectors once
        get_timed(port, path(f"bench-visitor-{number}"), key)
    returning = [path(f"bench-visitor-{n}") for n in numbers[20:]]
    newcomers = [path(f"bench-newcomer-{n}") for n in range(args.other_requests)]
    result = {
        "returning": sequential(port, key, returning),
        "regulars": sequential(port, key, [path(f"bench-visitor-{n}") for n in regulars]),
        "no_history": sequential(port, key, newcomers),
        "index_versus_exact": comparison,
        "stages": stages,
        "window": window,
    }
    log(f"  recommendations (sequential): {result}")
    return result


def summary_rows(row, figures: dict) -> list[list]:
    found = figures.get("recommendations")
    if not found:
        return []
    returning, newcomers = found["returning"], found["no_history"]
    training = figures.get("sequence_training", {})
    model = (
        f"sequence version active ({training.get('seconds')} s to train, 1 epoch)"
        if training.get("version_status") == "active"
        else f"no sequence version ({training.get('skipped') or training.get('error')})"
    )
    return [
        row(
            f"recommendations uncached p50 / p99, returning visitors ({returning['n']} distinct)",
            f"{returning['p50_ms']:.1f} / {returning['p99_ms']:.1f} ms",
            f"p99 ≤ {TARGET_P99_MS:.0f} ms (at 100k products)",
            returning["p99_ms"] <= TARGET_P99_MS,
            f"{model}; view p50 / p99 {returning['server_view']['p50_ms']:.1f} / "
            f"{returning['server_view']['p99_ms']:.1f} ms; cache hits "
            f"{returning['counts'].get('cache hits', 0)}, non-200 "
            f"{returning['counts'].get('non-200', 0)}",
        ),
        *_regulars_rows(row, found.get("regulars")),
        row(
            f"recommendations uncached p50 / p99, visitors without events ({newcomers['n']})",
            f"{newcomers['p50_ms']:.1f} / {newcomers['p99_ms']:.1f} ms",
            ref=f"view p50 / p99 {newcomers['server_view']['p50_ms']:.1f} / "
            f"{newcomers['server_view']['p99_ms']:.1f} ms",
        ),
    ]


def _regulars_rows(row, regulars: dict | None) -> list[list]:
    if not regulars:
        return []
    return [
        row(
            f"recommendations uncached p50 / p99, regular customers ({regulars['n']}, read "
            "window full)",
            f"{regulars['p50_ms']:.1f} / {regulars['p99_ms']:.1f} ms",
            f"p99 ≤ {TARGET_P99_MS:.0f} ms (at 100k products)",
            regulars["p99_ms"] <= TARGET_P99_MS,
            f"view p50 / p99 {regulars['server_view']['p50_ms']:.1f} / "
            f"{regulars['server_view']['p99_ms']:.1f} ms; non-200 "
            f"{regulars['counts'].get('non-200', 0)}",
        )
    ]


def section_markdown(figures: dict) -> str:
    found = figures.get("recommendations")
    if not found:
        return ""
    training = figures.get("sequence_training", {})
    lines = []
    groups = (
        ("returning", "returning visitors"),
        ("regulars", "regular customers"),
        ("no_history", "no events"),
    )
    for name, label in groups:
        if name not in found:
            continue
        lat = found[name]
        tiers = ", ".join(
            f"{t[5:]} {n}" for t, n in sorted(lat["counts"].items()) if t.startswith("tier ")
        )
        lines.append(
            [
                label,
                lat["n"],
                lat["p50_ms"],
                lat["p99_ms"],
                lat["server_view"]["p50_ms"],
                lat["server_view"]["p99_ms"],
                tiers,
                " / ".join(map(str, lat["load_avg"])),
            ]
        )
    table = markdown_table(
        [
            "recommendations, sequential",
            "n",
            "p50 ms",
            "p99 ms",
            "view p50 ms",
            "view p99 ms",
            "answers by tier (count of answers holding it)",
            "load 1/5/15 min",
        ],
        lines,
    )
    metrics = training.get("metrics") or {}
    model = (
        f"Sequence version: `{training.get('params')}` trained by the service in this process in "
        f"{training.get('seconds')} s, state {training.get('state')} (validation Recall@20 "
        f"{metrics.get('recall')}; one epoch on synthetic data: a serving-cost figure, not a "
        "quality one; quality is the sequence-quality section's)."
        if training.get("version_status") == "active"
        else f"No sequence version ({training.get('skipped') or training.get('error')})."
    )
    measured = _store_and_index_markdown(training, found)
    # Runs from before the window's timing read the window served then.
    served_window = (found.get("window") or {}).get("served", BASELINE_WINDOW)
    return f"""{measured}**Recommendations**, uncached
(`GET /api/v1/visitors/<id>/recommendations/?k=10`, the cache cleared first, each visitor asked
once, a new connection per request): returning visitors of the history above (about ten events
each: the selector reads their newest {served_window} events, fuses the sequence model's likeliest
next products from its HNSW index, the bought-together / also-viewed partners of their products,
the products nearest their image profile, their own repeats and their peers' purchases), regular
customers (histories longer than that window, so it is read full) and visitors without events
(trending, in its own tier). {model}

{table}"""


def _store_and_index_markdown(training: dict, found: dict) -> str:
    """The item vectors' store time and the index-versus-exact comparison, when measured."""
    lines = []
    if store := training.get("store"):
        lines.append(
            f"Item vectors stored in pgvector again from the version's file: {store['rows']:,} "
            f"rows replaced by binary COPY and the version's HNSW index (`vector_ip_ops`) built "
            f"in {store['seconds']} s."
        )
    if check := (store or {}).get("placement_check_ms"):
        lines.append(
            f"Placing new products by content when there are none, as every behaviour refresh "
            f"beat does (`sequence_vectors_place_all`: one anti-join over the catalogue per "
            f"stored version): median {check['median']} ms, at most {check['max']} ms over "
            f"{check['runs']} runs; rows added {sum(check['placed'].values())}."
        )
    compared = found.get("index_versus_exact") or {}
    if "visitors" in compared:
        n = compared["n"]
        lines.append(
            f"The sequence signal of {compared['visitors']} returning visitors, in-process and "
            f"interleaved, from the HNSW index against the exact NumPy product over the "
            f"{compared['products']:,} vectors of the file (one BLAS thread, as served; "
            "visitor vector included):\n\n"
            + markdown_table(
                ["sequence signal", f"recall of exact top {n}", f"recall of exact top {K}"]
                + ["p50 ms", "p99 ms"],
                [
                    [
                        "HNSW index (pgvector)",
                        compared[f"recall_at_{n}"],
                        compared[f"recall_at_{K}"],
                    ]
                    + [compared["index_ms"]["p50"], compared["index_ms"]["p99"]],
                    ["exact NumPy product", 1.0, 1.0]
                    + [compared["exact_ms"]["p50"], compared["exact_ms"]["p99"]],
                ],
            )
        )
    if window := window_markdown(found.get("window") or {}):
        lines.append(window)
    if stages := found.get("stages"):
        lines.append(
            "Where an uncached answer's time goes, in-process (no HTTP), for returning visitors: "
            "each stage the selector runs, then the whole selector:\n\n"
            + markdown_table(
                ["stage", "p50 ms", "p99 ms"],
                [[name, t["p50"], t["p99"]] for name, t in stages.items()],
            )
        )
    return "".join(f"{line}\n\n" for line in lines)


def section_from_run(figures: dict) -> str:
    """This part's own section, from a behaviour_serving.py run's figures."""
    rows = summary_rows(_row, figures)
    table = markdown_table(["figure", "measured", "target", "met", "reference (same run)"], rows)
    start, end = figures.get("load_avg_start"), figures.get("load_avg_end")
    return f"""### Recommendations serving (#17): sequence vectors in pgvector, API latency

Command: `{figures.get("command")}` (the other phases cut short, `--no-doc`; this section written
from its JSON line by `bench/_recommendations_serving.py --from-json`). {figures["products"]:,}
products; load average (1/5/15 min) at the start {" / ".join(map(str, start or []))}, at the end
{" / ".join(map(str, end or []))}: on 2 cores a load above 2 means requests waited for a core.

{table}

{section_markdown(figures)}"""


def _row(figure: str, measured, target: str = "report", ok: bool | None = None, ref: str = ""):
    verdict = "–" if ok is None else ("**met**" if ok else "**missed**")
    return [figure, measured, target, verdict, ref]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--from-json", required=True, help="file holding the BENCH_JSON line")
    parser.add_argument("--note", help="file holding the reading of the run, put after the table")
    args = parser.parse_args(argv)
    with open(args.from_json) as handle:
        line = next(row for row in handle if row.startswith(JSON_PREFIX))
    figures = json.loads(line[len(JSON_PREFIX) :])
    markdown = section_from_run(figures)
    if args.note:
        with open(args.note) as handle:
            reading, _, rest = markdown.partition("\n\n**Recommendations**")
            markdown = f"{reading}\n\n{handle.read().strip()}\n\n**Recommendations**{rest}"
    print(markdown)
    write_section("recommendations-serving", markdown, machine=figures["machine"])


if __name__ == "__main__":
    main()
