"""The recommendations part of bench/behaviour_serving.py: a sequence model version trained on
the bench's history (a short training: what serving costs does not depend on how well it
learned), then `GET /api/v1/visitors/<id>/recommendations/?k=10` uncached for returning
visitors (about ten events each) and for visitors without events, sequentially."""

import time

from _report import log, markdown_table

TARGET_P99_MS = 40.0
# One epoch of a small model: enough for real weights and item vectors of every product.
SEQUENCE_PARAMS = {"architecture": "gru", "dim": 64, "max_len": 20, "epochs": 1}


def sequence_train(enabled: bool) -> dict:
    """Train and activate a version through the service (this process, like train_behaviour);
    its files go under the bench's PRODSIM_MODELS_ROOT (its work folder)."""
    if not enabled:
        return {"skipped": "--no-sequence or the smoke profile"}
    from behaviour.ml.sequence.config import SequenceConfig
    from behaviour.services.sequence import sequence_training_job_run, sequence_training_start

    job = sequence_training_start(config=SequenceConfig(**SEQUENCE_PARAMS), enqueue=False)
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
        "params": SEQUENCE_PARAMS,
    }
    if job.state == "succeeded" and version.status != "active":
        from behaviour.services.sequence import sequence_version_activate

        sequence_version_activate(version=version)
        result["version_status"] = "active"
    log(f"  sequence training: {result}")
    return result


def recommendations_measure(sequential, get_timed, port, key, args, rng, visitors: int) -> dict:
    """Uncached latency (each visitor asked once; the cache cleared first)."""
    k = 10

    def path(visitor: str) -> str:
        return f"/api/v1/visitors/{visitor}/recommendations/?k={k}"

    numbers = rng.permutation(visitors)[: 20 + args.requests]
    for number in numbers[:20]:  # workers load the sequence model's vectors once
        get_timed(port, path(f"bench-visitor-{number}"), key)
    returning = [path(f"bench-visitor-{n}") for n in numbers[20:]]
    newcomers = [path(f"bench-newcomer-{n}") for n in range(args.other_requests)]
    result = {
        "returning": sequential(port, key, returning),
        "no_history": sequential(port, key, newcomers),
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
        row(
            f"recommendations uncached p50 / p99, visitors without events ({newcomers['n']})",
            f"{newcomers['p50_ms']:.1f} / {newcomers['p99_ms']:.1f} ms",
            ref=f"view p50 / p99 {newcomers['server_view']['p50_ms']:.1f} / "
            f"{newcomers['server_view']['p99_ms']:.1f} ms",
        ),
    ]


def section_markdown(figures: dict) -> str:
    found = figures.get("recommendations")
    if not found:
        return ""
    training = figures.get("sequence_training", {})
    lines = []
    for name, label in (("returning", "returning visitors"), ("no_history", "no events")):
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
    return f"""**Recommendations**, uncached (`GET /api/v1/visitors/<id>/recommendations/?k=10`, the
cache cleared first, each visitor asked once, a new connection per request): returning visitors of
the history above (about ten events each: the selector reads their newest 50 events, fuses the
sequence model's scores of every product, the bought-together / also-viewed partners of their
products, the products nearest their image profile and their own repeats) and visitors without
events (trending, in its own tier). {model}

{table}"""
