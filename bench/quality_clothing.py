"""Quality target: category retrieval on clothing-dataset-small, test → train (data README).

Catalogue (gallery) = the 3,068 `train/` images, queries = the 372 `test/` images, relevance =
same category folder, ranking by cosine. Rows measured side by side in one run:

  colour histogram   the hand-crafted baseline (`evaluation.colour_histograms`)
  frozen backbone    ImageNet MobileNetV2 pooled 1280-d features, no training (README: R@1 0.780)
  prodsim (Keras)    `training.train` on the train split minus a 10 % validation carve-out
  prodsim (TFLite)   the exported artifact through `embedder.load_embedder`, as served
  flip-averaged      the Keras model with each query photo averaged with its mirror
  served             as the pipeline serves by default: refit on all of train/ for the epochs
                     selection found best (`refit_on_all`), flip-averaged queries (test only)

Every training choice is made on the validation carve-out (val queries vs the training images),
never on the test split: `--val-only` runs without even loading `test/`.

    .venv/bin/python bench/quality_clothing.py                      # full run, writes the docs
    .venv/bin/python bench/quality_clothing.py --set epochs=2 --limit-train 800
"""

import argparse
import json
import os
import shlex
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from _recipe import add_recipe_option, recipe_overrides
from _report import (
    JSON_PREFIX,
    PROFILE,
    ensure_repo_on_path,
    load_now_line,
    log,
    machine_info,
    markdown_table,
    print_json,
    write_section,
)

SECTION = "quality-clothing"
SHARED = Path(__file__).resolve().parents[2] / "shared"
DEFAULT_DATA = SHARED / "data" / "clothing-dataset-small"
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}  # the dev set is JPEG; others of its kind
DEFAULT_WEIGHTS = SHARED / "weights" / "mobilenet_v2_1.0_224_imagenet_no_top.weights.h5"
INPUT_SIZE = 224
EMBEDDING_DIM = 256
EMBED_BATCH = 64
DECODE_THREADS = 2  # one per core; Pillow releases the GIL while decoding and resizing
VAL_SHARE = 0.1
TARGET = {"recall_at_1": 0.92, "precision_at_10": 0.85}  # issue #18 raised R@1 from 0.90
README_FROZEN = {"recall_at_1": 0.780, "precision_at_10": 0.717}  # data README's reference
ROWS = ("histogram", "frozen", "trained", "tflite", "served")
# The tables' order; served has test/ figures only (the refit trains on the
# validation carve-out).
TABLE_ORDER = (
    *("histogram", "frozen", "trained", "tflite", "flip_averaged"),
    *("served_single", "served"),
)
# Only MobileNetV2 has ImageNet weights offline (../shared/weights); the others train from a
# random initialisation here (no download on this machine).
BACKBONES = ("mobilenet_v2", "mobilenet_v3_small", "efficientnet_b0", "small_cnn")
PRETRAINED_BACKBONE = "mobilenet_v2"
ROW_TITLES = {
    "histogram": "colour histogram (8×8×8 RGB)",
    "frozen": "frozen ImageNet MobileNetV2 (1280-d)",
    "trained": "prodsim trained, Keras (256-d)",
    "tflite": "prodsim trained, exported TFLite (256-d)",
    "flip_averaged": "prodsim trained, flip-averaged queries",
    "served_single": "one refit on all train/, flip-averaged queries",
    "served": "prodsim served: refits on all train/ side by side, flip-averaged queries",
}
METRIC_KEYS = (
    "recall_at_1",
    "recall_at_5",
    "recall_at_10",
    "precision_at_10",
    "map_at_10",
    "ndcg_at_10",
)
ERROR_NO_DATA = (
    "clothing-dataset-small not found at {path} (expected train/ and test/ inside). "
    "Pass --data PATH; see /work/shared/data/README.md."
)
ERROR_NO_WEIGHTS = "MobileNetV2 weights file not found at {path}; pass --weights PATH."

# The trained rows use TrainingConfig's own defaults, what a shop's training job runs, unless
# `--set` overrides one. The seed also draws the validation carve-out, so it has its own option;
# so do the fields every row shares.
SEED = 1234
OWN_FIELDS = {"backbone", "weights", "input_size", "embedding_dim", "seed"}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS)
    parser.add_argument(
        "--backbone",
        choices=BACKBONES,
        default=PRETRAINED_BACKBONE,
        help="the trained row's backbone (others than mobilenet_v2 start from random weights; "
        "the frozen row stays ImageNet MobileNetV2, the reference)",
    )
    parser.add_argument(
        "--input-size", type=int, default=INPUT_SIZE, help="pixels per side, for every row"
    )
    parser.add_argument("--seed", type=int, default=SEED)
    add_recipe_option(parser)
    parser.add_argument(
        "--limit-train",
        type=int,
        default=None,
        help="use only N train/ images (stratified), for training AND as the gallery: trial "
        "runs to time an epoch; the docs are not written",
    )
    parser.add_argument(
        "--val-only",
        action="store_true",
        help="report only validation-carve-out metrics, never touching test/ (for choices)",
    )
    parser.add_argument(
        "--rows", default=",".join(ROWS), help=f"comma-separated subset of {','.join(ROWS)}"
    )
    parser.add_argument("--no-doc", action="store_true", help="do not rewrite docs/BENCHMARKS.md")
    parser.add_argument(
        "--report-from",
        type=Path,
        default=None,
        help="only rewrite the docs section from the BENCH_JSON line of an earlier run's log",
    )
    parser.add_argument(
        "--keep", type=Path, default=None, help="keep checkpoints and the export in this folder"
    )
    args = parser.parse_args(argv)
    args.rows = [row.strip() for row in args.rows.split(",") if row.strip()]
    unknown = set(args.rows) - set(ROWS)
    if unknown:
        parser.error(f"unknown rows {sorted(unknown)}; choose from {ROWS}")
    if {"tflite", "served"} & set(args.rows) and "trained" not in args.rows:
        args.rows.append("trained")
    return args


# --- data ---------------------------------------------------------------------------------------
def list_split(root: Path, split: str) -> tuple[list[Path], np.ndarray]:
    """Image paths of `<root>/<split>/<category>/*` (JPEG, PNG or WebP), sorted, and their
    category names."""
    paths = sorted(p for p in (root / split).glob("*/*") if p.suffix.lower() in IMAGE_SUFFIXES)
    return paths, np.array([path.parent.name for path in paths])


def load_images(paths: list[Path], what: str, size: int) -> np.ndarray:
    """uint8 (n, size, size, 3) through the one preprocessing path (`preprocessing.load_image`)."""
    from similarity.ml.preprocessing import load_image

    started = time.monotonic()
    with ThreadPoolExecutor(DECODE_THREADS) as pool:
        images = list(pool.map(lambda path: load_image(path, size=size), paths))
    seconds = time.monotonic() - started
    log(f"loaded {len(paths)} {what} images in {seconds:.1f} s ({len(paths) / seconds:.0f}/s)")
    return np.stack(images)


def stratified_pick(labels: np.ndarray, share_or_count: float, seed: int) -> np.ndarray:
    """Sorted indices of a per-label share (float < 1) or total count (int), seeded."""
    rng = np.random.default_rng(seed)
    total = len(labels)
    picked = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        share = share_or_count if share_or_count < 1 else share_or_count / total
        take = max(1, round(len(members) * share))
        picked.append(rng.permutation(members)[:take])
    return np.sort(np.concatenate(picked))


# --- measurement --------------------------------------------------------------------------------
def scores(query_vectors, query_labels, gallery_vectors, gallery_labels) -> dict:
    from similarity.ml.evaluation import retrieval_metrics

    metrics = retrieval_metrics(
        query_vectors, query_labels, gallery_vectors, gallery_labels, exclude_self=False
    )
    return {key: round(value, 4) for key, value in metrics.as_dict().items()}


def timed_embed(embed, images: np.ndarray, what: str) -> tuple[np.ndarray, float]:
    """Vectors of `images` through `embed(batch)`, in batches of 64, with a progress line."""
    started = time.monotonic()
    parts = []
    for start in range(0, len(images), EMBED_BATCH):
        parts.append(np.asarray(embed(images[start : start + EMBED_BATCH]), dtype=np.float32))
        done = start + len(parts[-1])
        if done % (EMBED_BATCH * 16) == 0 or done == len(images):
            rate = done / (time.monotonic() - started)
            log(f"  {what}: {done}/{len(images)} ({rate:.1f} img/s)")
    seconds = time.monotonic() - started
    return np.concatenate(parts), len(images) / seconds


def evaluate_row(name: str, vectors: dict[str, np.ndarray], data: dict, rate: float) -> dict:
    """Test (test → full train) and validation (carve-out → rest of train) scores of one row."""
    train_vectors = vectors["train"]
    result = {"row": name, "images_per_s": round(rate, 1)}
    result["val"] = scores(
        train_vectors[data["val_index"]],
        data["train_labels"][data["val_index"]],
        train_vectors[data["fit_index"]],
        data["train_labels"][data["fit_index"]],
    )
    if "test" in vectors:
        result["test"] = scores(
            vectors["test"], data["test_labels"], train_vectors, data["train_labels"]
        )
    shown = result.get("test", result["val"])
    log(f"{ROW_TITLES[name]}: R@1 {shown['recall_at_1']:.3f} P@10 {shown['precision_at_10']:.3f}")
    return result


def row_histogram(data: dict) -> dict:
    from similarity.ml.evaluation import colour_histograms

    started = time.monotonic()
    vectors = {split: colour_histograms(data[split]) for split in data["splits"]}
    count = sum(len(data[split]) for split in data["splits"])
    return evaluate_row("histogram", vectors, data, count / (time.monotonic() - started))


def row_frozen(data: dict, weights: Path, size: int) -> dict:
    from similarity.ml.backbones import build_backbone

    backbone = build_backbone("mobilenet_v2", input_size=size, weights=str(weights))
    model = backbone.model

    def embed(batch):
        return model(batch.astype(np.float32), training=False)

    vectors, rates = {}, []
    for split in data["splits"]:
        vectors[split], rate = timed_embed(embed, data[split], f"frozen {split}")
        rates.append(rate)
    assert vectors["train"].shape[1] == 1280, vectors["train"].shape
    return evaluate_row("frozen", vectors, data, float(np.mean(rates)))


def training_config(args: argparse.Namespace):
    from similarity.ml.training import TrainingConfig

    overrides = recipe_overrides(args.set)
    if clash := sorted(overrides.keys() & OWN_FIELDS):
        raise SystemExit(f"--set {', '.join(clash)}: use the option of the same name")
    return TrainingConfig(
        backbone=args.backbone,
        weights=str(args.weights) if args.backbone == PRETRAINED_BACKBONE else "none",
        input_size=args.input_size,
        embedding_dim=EMBEDDING_DIM,
        seed=args.seed,
        **overrides,
    )


def label_codes(labels_text: np.ndarray) -> np.ndarray:
    names = sorted(set(labels_text))
    return np.array([names.index(label) for label in labels_text], dtype=np.int32)


def run_training(args: argparse.Namespace, data: dict, work_dir: Path):
    """train() on the training part of train/, validated on the carve-out; returns result, info."""
    from similarity.ml.training import Validation, train

    config = training_config(args)
    images = data["train"][data["fit_index"]]
    codes = label_codes(data["train_labels"])
    started = time.monotonic()
    last = [started]

    def progress(entry: dict) -> None:
        now = time.monotonic()
        log(
            f"  epoch {entry['epoch']}/{entry['epochs']} loss {entry['loss']:.4f} "
            f"val R@1 (early stopping's) {entry['val_recall_at_1']:.3f} "
            f"{now - last[0]:.0f} s, {entry['images_per_s']} img/s"
        )
        entry["seconds"] = round(now - last[0], 1)
        last[0] = now

    log(f"training on {len(images)} images, validating on {len(data['val_index'])}: {config}")
    result = train(
        config,
        images=images,
        labels=codes[data["fit_index"]],
        # Early stopping as the pipeline's default protocol (known products) runs it: the
        # carve-out ranked among at most 10 training photos per label.
        validation=Validation.known_products(
            data["train"][data["val_index"]],
            codes[data["val_index"]],
            images,
            codes[data["fit_index"]],
        ),
        checkpoint_dir=work_dir / "checkpoints",
        progress=progress,
    )
    seconds = time.monotonic() - started
    batch = config.labels_per_batch * config.images_per_label
    steps = config.steps_per_epoch or max(1, -(-len(images) // batch))
    seen = len(result.history) * steps * batch
    info = {
        "config": config.as_dict(),
        "train_images": len(images),
        "val_images": len(data["val_index"]),
        "wall_s": round(seconds, 1),
        "epochs_run": len(result.history),
        "images_seen": seen,
        "images_per_s": round(seen / seconds, 1),
        "best_val_recall_at_1_loo": result.best_val_recall_at_1,
        "history": result.history,
        "weights_used": result.weights_used,
    }
    log(f"training took {seconds:.0f} s ({info['images_per_s']} img/s incl. validation)")
    return result, info


def row_trained(result, data: dict) -> tuple[dict, dict[str, np.ndarray]]:
    from similarity.ml.training import embed_arrays

    vectors, rates = {}, []
    for split in data["splits"]:
        started = time.monotonic()
        log(f"  trained (Keras) {split}: embedding {len(data[split])} images")
        vectors[split] = embed_arrays(result.model, data[split], batch_size=EMBED_BATCH)
        rates.append(len(data[split]) / (time.monotonic() - started))
    return evaluate_row("trained", vectors, data, float(np.mean(rates))), vectors


def row_flip_averaged(result, data: dict, keras_vectors: dict) -> dict:
    from similarity.ml.training import embed_arrays
    from similarity.ml.tta import flip_averaged

    def embed(images):
        return embed_arrays(result.model, images)

    # On the carve-out too: whether query photos are flip-averaged is chosen there, not on test.
    val, fit = data["val_index"], data["fit_index"]
    row = {"row": "flip_averaged", "images_per_s": ""}
    row["val"] = scores(
        flip_averaged(embed, data["train"][val]),
        data["train_labels"][val],
        keras_vectors["train"][fit],
        data["train_labels"][fit],
    )
    if "test" in data:
        queries = flip_averaged(embed, data["test"])
        row["test"] = scores(
            queries, data["test_labels"], keras_vectors["train"], data["train_labels"]
        )
    shown = row.get("test", row["val"])
    log(f"{ROW_TITLES['flip_averaged']}: R@1 {shown['recall_at_1']:.3f}")
    return row


def row_served(args: argparse.Namespace, data: dict, selection, work_dir: Path) -> list[dict]:
    """The pipeline's default: after selection, train again on every train/ image (the carve-out
    too) for the epochs selection found best, once per seed of `refit_models`, and serve their
    vectors side by side; search with flip-averaged queries. (The pipeline first scores refits
    without its known-products photos for the version page.) Also the first refit alone, the
    served model before `refit_models`, measured beside it."""
    from dataclasses import replace

    from similarity.ml.side_by_side import member_seed, side_by_side
    from similarity.ml.training import embed_arrays, train
    from similarity.ml.training.refit import refit_epochs
    from similarity.ml.tta import flip_averaged

    config = training_config(args)
    epochs = refit_epochs(
        selection.history, configured=config.epochs, validation_queries=len(data["val_index"])
    )
    started = time.monotonic()
    refits = []
    for member in range(config.refit_models):
        seed = member_seed(config.seed, member)
        log(f"refit (seed {seed}) on all {len(data['train'])} train/ images for {epochs} epochs")
        refits.append(
            train(
                replace(config, epochs=epochs, seed=seed),
                images=data["train"],
                labels=label_codes(data["train_labels"]),
                validation=None,
                checkpoint_dir=work_dir / f"refit-{member}",
                progress=lambda entry: log(f"  refit epoch {entry['epoch']}/{entry['epochs']}"),
            ).model
        )
    seconds = round(time.monotonic() - started, 1)
    rows = []
    for name, model in (("served_single", refits[0]), ("served", side_by_side(refits))):

        def embed(images, model=model):
            return embed_arrays(model, images, batch_size=EMBED_BATCH)

        queries = flip_averaged(embed, data["test"])
        test = scores(queries, data["test_labels"], embed(data["train"]), data["train_labels"])
        log(f"{ROW_TITLES[name]}: R@1 {test['recall_at_1']:.3f} (refits {seconds:.0f} s)")
        rows.append({"row": name, "images_per_s": "", "test": test, "epochs": epochs})
    rows[-1]["wall_s"] = seconds
    return rows


def row_tflite(result, data: dict, work_dir: Path, keras_vectors: dict, info: dict) -> dict:
    from similarity.ml.embedder import load_embedder
    from similarity.ml.export import export_model

    directory = work_dir / "export"
    started = time.monotonic()
    written = export_model(
        result.model,
        directory=directory,
        metadata={"benchmark": SECTION, "training": info["config"]},
        check_images=data["train"][data["val_index"][:8]],
    )
    log(f"exported to {directory} in {time.monotonic() - started:.0f} s")
    embedder = load_embedder(directory)
    vectors, rates = {}, []
    for split in data["splits"]:
        vectors[split], rate = timed_embed(embedder.embed, data[split], f"TFLite {split}")
        rates.append(rate)
    row = evaluate_row("tflite", vectors, data, float(np.mean(rates)))
    row["max_abs_difference_vs_keras"] = float(
        max(np.max(np.abs(vectors[split] - keras_vectors[split])) for split in data["splits"])
    )
    row["export_check_difference"] = written["tflite_max_abs_difference"]
    return row


# --- report -------------------------------------------------------------------------------------
def ratio(rows: dict, name: str, key: str, split: str) -> str:
    if "frozen" not in rows or name in ("frozen", "histogram"):
        return ""
    return f"{rows[name][split][key] / rows['frozen'][split][key]:.3f}"


def results_table(rows: dict, split: str) -> str:
    header = ["row", "R@1", "R@5", "R@10", "P@10", "mAP@10", "NDCG@10"]
    header += ["R@1 ÷ frozen", "P@10 ÷ frozen", "embed img/s"]
    lines = []
    for name in TABLE_ORDER:
        if split not in rows.get(name, {}):
            continue
        figures = rows[name][split]
        lines.append(
            [ROW_TITLES[name]]
            + [f"{figures[key]:.3f}" for key in METRIC_KEYS]
            + [ratio(rows, name, "recall_at_1", split), ratio(rows, name, "precision_at_10", split)]
            + [rows[name]["images_per_s"]]
        )
    return markdown_table(header, lines)


def history_table(history: list[dict]) -> str:
    lines = [
        [e["epoch"], f"{e['loss']:.4f}", f"{e['val_recall_at_1']:.3f}", e.get("seconds", "")]
        for e in history
    ]
    return markdown_table(["epoch", "loss", "val R@1 (early stopping's)", "seconds"], lines)


def verdict(rows: dict) -> str:
    name = "served" if "served" in rows else "trained"
    if name not in rows or "test" not in rows[name]:
        return "target not measured (no trained row on test)"
    test = rows[name]["test"]
    met = all(test[key] >= goal for key, goal in TARGET.items())
    return (
        f"**Target R@1 ≥ {TARGET['recall_at_1']} and P@10 ≥ {TARGET['precision_at_10']}: "
        f"{'MET' if met else 'NOT MET'}** by the {ROW_TITLES[name]!r} row (R@1 "
        f"{test['recall_at_1']:.3f}, P@10 {test['precision_at_10']:.3f})."
    )


def section_markdown(figures: dict) -> str:
    rows, info, counts = figures["rows"], figures["training"], figures["counts"]
    parts = [
        "### Image retrieval quality: clothing-dataset-small (`bench/quality_clothing.py`), "
        f"trained backbone {figures.get('backbone', PRETRAINED_BACKBONE)}",
        "",
        # --no-doc only decides whether the docs are written: the figures are the same.
        f"Command: `{figures['command'].replace(' --no-doc', '')}`",
        "",
        f"Protocol: gallery = `train/` ({counts['train']} images), queries = `test/` "
        f"({counts['test']} images), relevance = same category, cosine, "
        "`retrieval_metrics(exclude_self=False)`, "
        f"input {figures.get('input_size', INPUT_SIZE)} px padded (`load_image`, "
        f"preprocessing v{figures.get('preprocessing_version', '?')}).",
        "",
        results_table(rows, "test"),
        "",
        verdict(rows),
        "",
    ]
    if "served" in rows:
        served = rows["served"]
        parts += [
            f"Served: {info['config']['refit_models'] if info else '?'} refits on all `train/` "
            f"(seeds from {counts['seed']}), {served['epochs']} epochs each, "
            f"{served['wall_s']:.0f} s together; the first alone is the row above it.",
            "",
        ]
    if figures.get("limit_train"):
        parts += [
            f"**Quick profile: a {figures['limit_train']}-image stratified subset of `train/` "
            f"(training set and gallery) and {info['epochs_run'] if info else 0} epochs; one "
            "training run, no repeats.** Its figures show that the pipeline runs, not the "
            "model's quality: compare with the full run's section.",
            "",
        ]
    if figures.get("backbone", PRETRAINED_BACKBONE) != PRETRAINED_BACKBONE:
        parts += [
            f"The trained row's {figures['backbone']} starts from **random weights**: only "
            "MobileNetV2 has ImageNet weights on this offline machine (`../shared/weights`); "
            "the frozen row is ImageNet MobileNetV2, the same reference as in its section.",
            "",
        ]
    if "frozen" in rows:
        frozen = rows["frozen"]["test"]
        parts += [
            f"Frozen backbone vs the data README's reference (R@1 {README_FROZEN['recall_at_1']}, "
            f"P@10 {README_FROZEN['precision_at_10']}): measured R@1 {frozen['recall_at_1']:.3f}, "
            f"P@10 {frozen['precision_at_10']:.3f}.",
            "",
        ]
    if "tflite" in rows:
        parts += [
            f"The served TFLite artifact vs the Keras model: max |Δ| per vector component "
            f"{rows['tflite']['max_abs_difference_vs_keras']:.2e} over all "
            f"{counts['train'] + counts['test']} images.",
            "",
        ]
    parts += [
        f"Validation carve-out (choices were made on this, never on test): "
        f"{counts['val']} of the train/ images, 10 % per category, seed "
        f"{counts['seed']}; val queries vs the other {counts['fit']} train/ images:",
        "",
        results_table(rows, "val"),
        "",
    ]
    if info:
        config = info["config"]
        settings = ", ".join(f"{key}={value}" for key, value in config.items() if key != "weights")
        parts += [
            f"Training: {info['train_images']} images, {info['epochs_run']} epochs run "
            f"({info['images_seen']} images seen), **{info['wall_s']:.0f} s wall clock, "
            f"{info['images_per_s']} images/s** (including the per-epoch validation embedding). "
            f"Settings: {settings}; weights: `{Path(config['weights']).name}`.",
            "",
            history_table(info["history"]),
            "",
        ]
    parts.append(load_now_line())
    return "\n".join(parts)


# --- main ---------------------------------------------------------------------------------------
def load_data(args: argparse.Namespace) -> dict:
    train_paths, train_labels = list_split(args.data, "train")
    if args.limit_train:
        keep = stratified_pick(train_labels, args.limit_train, args.seed)
        train_paths, train_labels = [train_paths[i] for i in keep], train_labels[keep]
    data = {"train_labels": train_labels, "seed": args.seed, "splits": ["train"]}
    data["val_index"] = stratified_pick(train_labels, VAL_SHARE, args.seed)
    data["fit_index"] = np.setdiff1d(np.arange(len(train_labels)), data["val_index"])
    data["train"] = load_images(train_paths, "train/", args.input_size)
    if not args.val_only:
        test_paths, data["test_labels"] = list_split(args.data, "test")
        data["test"] = load_images(test_paths, "test/", args.input_size)
        data["splits"].append("test")
    return data


def check_inputs(args: argparse.Namespace) -> None:
    if not ((args.data / "train").is_dir() and (args.data / "test").is_dir()):
        sys.exit(ERROR_NO_DATA.format(path=args.data))
    if not args.weights.is_file():
        sys.exit(ERROR_NO_WEIGHTS.format(path=args.weights))


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    if args.report_from:  # re-render the docs section from an earlier run's output
        figures = figures_from_log(args.report_from)
        write_doc(figures)
        return figures
    check_inputs(args)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    ensure_repo_on_path()
    machine = machine_info()
    log(f"machine: {machine}")
    started = time.monotonic()
    data = load_data(args)
    work_dir = args.keep or Path(tempfile.mkdtemp(prefix="bench-quality-"))
    rows, info = {}, None
    try:
        if "histogram" in args.rows:
            rows["histogram"] = row_histogram(data)
        if "frozen" in args.rows:
            rows["frozen"] = row_frozen(data, args.weights, args.input_size)
        if "trained" in args.rows:
            result, info = run_training(args, data, work_dir)
            rows["trained"], keras_vectors = row_trained(result, data)
            if "tflite" in args.rows:
                rows["tflite"] = row_tflite(result, data, work_dir, keras_vectors, info)
            rows["flip_averaged"] = row_flip_averaged(result, data, keras_vectors)
            if "served" in args.rows and "test" in data:
                rows.update((row["row"], row) for row in row_served(args, data, result, work_dir))
    finally:
        if args.keep is None:
            shutil.rmtree(work_dir, ignore_errors=True)
    command = shlex.join([".venv/bin/python", "bench/quality_clothing.py", *sys.argv[1:]])
    counts = {
        "train": len(data["train"]),
        "test": len(data.get("test", [])),
        "val": len(data["val_index"]),
        "fit": len(data["fit_index"]),
        "seed": data["seed"],
    }
    from similarity.ml.preprocessing import PREPROCESSING_VERSION

    figures = {"rows": rows, "training": info, "counts": counts, "command": command}
    figures["preprocessing_version"] = PREPROCESSING_VERSION
    figures["machine"] = machine
    figures["limit_train"] = args.limit_train
    figures["backbone"] = args.backbone
    figures["input_size"] = args.input_size
    figures["total_wall_s"] = round(time.monotonic() - started, 1)
    for split in ("test", "val"):
        if any(split in row for row in rows.values()):
            print(f"\n{split} metrics:\n{results_table(rows, split)}")
    if not args.val_only:
        print("\n" + verdict(rows))
    print_json(section_for(figures), figures)
    # A subset run is documented only under a run_all.py profile, in that profile's own section.
    if args.no_doc or args.val_only or (args.limit_train and not PROFILE):
        log("docs/BENCHMARKS.md not written (--no-doc, --limit-train or --val-only)")
    else:
        write_doc(figures)
    return figures


def write_doc(figures: dict) -> None:
    name = section_for(figures)
    path = write_section(name, section_markdown(figures), machine=figures["machine"])
    log(f"wrote section {name!r} of {path}")


def section_for(figures: dict) -> str:
    """One section per trained backbone; MobileNetV2 (the default) keeps the original name."""
    backbone = figures.get("backbone", PRETRAINED_BACKBONE)
    return SECTION if backbone == PRETRAINED_BACKBONE else f"{SECTION}-{backbone}"


def figures_from_log(log_file: Path) -> dict:
    """The figures of an earlier run, from the BENCH_JSON line it printed."""
    for line in reversed(log_file.read_text().splitlines()):
        if line.startswith(JSON_PREFIX):
            return json.loads(line[len(JSON_PREFIX) :])
    sys.exit(f"no {JSON_PREFIX.strip()} line in {log_file}")


if __name__ == "__main__":
    main()
