"""Fusion and cross-modal quality on the demo catalogue, side by side with the single signals.

Builds the demo shop in its own database (prodsim_bench_fusion), trains the demo model the way
`make run` does, builds the lexical index, tunes the fusion weights on the validation products,
then ranks the similar items of every *test* product (never seen by training or tuning) by each
single signal and by the fused score. Reports same-category P@10 and same-group Recall@10, plus
text→image retrieval of the text tower against an untrained tower and chance.

    .venv/bin/python bench/fusion_demo.py [--per-category 36]
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._report import django_on_bench_database, machine_info, write_section  # noqa: E402

DATABASE = "prodsim_bench_fusion"
SINGLE_SIGNALS = ("image", "text", "text_learned", "attributes")


def setup(work_dir: Path) -> None:
    django_on_bench_database(DATABASE, work_dir)


def build(per_category: int) -> dict:
    from django.core.management import call_command

    from prodsim_site.first_run import DEMO_TRAINING
    from similarity.services import model_version_create
    from similarity.services.lexical import lexical_index_rebuild
    from similarity.services.pipeline import job_run

    timings = {}
    clock = time.monotonic()
    call_command("demo_catalogue", per_category=per_category, verbosity=0)
    timings["import_s"] = time.monotonic() - clock
    clock = time.monotonic()
    version = model_version_create(enqueue=False, **DEMO_TRAINING)
    job = job_run(job_id=version.jobs.get().pk, max_attempts=1)
    assert job.state == "succeeded", job.error
    timings["train_pipeline_s"] = time.monotonic() - clock
    clock = time.monotonic()
    lexical_index_rebuild()
    timings["lexical_index_s"] = time.monotonic() - clock
    version.refresh_from_db()
    return {"version": version, "timings": timings}


def evaluate(version) -> dict:
    from similarity import fusion
    from similarity.services.tuning import fusion_evaluate, fusion_tune, split_products

    test = split_products(version, "test")
    rows = {}
    for signal in SINGLE_SIGNALS:
        weights = fusion.Weights(**{name: float(name == signal) for name in fusion.SIGNALS})
        rows[f"{signal} only"] = fusion_evaluate(products=test, weights=weights)
    rows["fused, default weights"] = fusion_evaluate(products=test, weights=fusion.Weights())
    clock = time.monotonic()
    tuned, table = fusion_tune(version=version, save=False)
    tune_s = time.monotonic() - clock
    rows["fused, tuned on validation"] = fusion_evaluate(products=test, weights=tuned)
    from similarity.models import ProductEmbedding

    products = ProductEmbedding.objects.filter(model_version=version).count()
    return {
        "rows": rows,
        "tuned": tuned.__dict__,
        "tune_s": tune_s,
        "grid": len(table),
        "chance_recall_at_10": min(1.0, 10 / max(products, 1)),
    }


def markdown(result: dict, version, timings: dict, args) -> str:
    lines = [
        f"Demo catalogue ({args.per_category} products per category, 10 categories), model "
        f"v{version.pk}: {version.backbone} {version.input_size}px, {version.embedding_dim}-d, "
        f"labels {version.label_source}. Queries: the {result['rows']['image only']['queries']} "
        "test products (held out from training and tuning); candidates from the image and "
        "lexical indexes, re-ranked by each weighting.",
        "",
        "| ranking | same-category P@10 | same-group R@10 |",
        "|---|---|---|",
    ]
    best_single = max(
        result["rows"][f"{s} only"]["category_precision_at_10"] for s in SINGLE_SIGNALS
    )
    for name, row in result["rows"].items():
        lines.append(
            f"| {name} | {row['category_precision_at_10']:.3f} | {row['group_recall_at_10']:.3f} |"
        )
    tuned = result["rows"]["fused, tuned on validation"]["category_precision_at_10"]
    lines += [
        "",
        f"Fused (tuned) ÷ best single signal (P@10): {tuned / best_single:.3f}. "
        f"Tuned weights ({result['grid']} weightings on the validation products, "
        f"{result['tune_s']:.0f} s): `{json.dumps(result['tuned'])}`.",
        "",
    ]
    cross = version.metrics.get("text_to_image", {})
    untrained = version.metrics.get("text_to_image_untrained", {})
    lines += [
        "Cross-modal (a product's text finds its own picture among all product image vectors; "
        "test products only):",
        "",
        "| text tower | R@1 | R@10 |",
        "|---|---|---|",
        f"| trained (LiT on the version's image space) | {cross.get('recall_at_1', 0):.3f} | "
        f"{cross.get('recall_at_10', 0):.3f} |",
        f"| untrained | {untrained.get('recall_at_1', 0):.3f} | "
        f"{untrained.get('recall_at_10', 0):.3f} |",
        f"| chance (10 / products) | – | {result['chance_recall_at_10']:.3f} |",
        "",
        "Timings (s): " + ", ".join(f"{k} {v:.0f}" for k, v in timings.items()),
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-category", type=int, default=36)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="prodsim-bench-fusion-") as work:
        setup(Path(work))
        built = build(args.per_category)
        result = evaluate(built["version"])
        text = markdown(result, built["version"], built["timings"], args)
    print(text)
    print("BENCH_JSON " + json.dumps({"fusion_demo": result["rows"], "tuned": result["tuned"]}))
    write_section("fusion-demo", text, machine=machine_info())


if __name__ == "__main__":
    main()
