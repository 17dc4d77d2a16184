from django.core.management.base import BaseCommand, CommandError

from similarity.ml.evaluation.protocols import figures_source
from similarity.ml.options import METRIC_COLUMNS as COLUMNS
from similarity.models import ModelVersion
from similarity.selectors.judgments import (
    GOLD_K,
    GoldSetReport,
    gold_set_precision,
    judged_pair_count,
)
from similarity.services.model_files import model_files_problem

ERROR_NO_JUDGMENTS = "no judged pairs yet: mark pairs good or bad in the admin preview"
ERROR_NO_ACTIVE_SOURCES = (
    "judged pairs: {pairs}, but none of their source products is active: the gold set "
    "scores only the lists of products on sale"
)
ERROR_NO_GOLD_PHOTOS = "no gold photos whose SKU is in the catalogue: add them in the admin"
ERROR_BOTH_GOLD = "--gold-set and --gold-photos are two evaluations: run one at a time"
ERROR_K_ALONE = "--k is the list length of --gold-set: add --gold-set, or leave --k out"


class Command(BaseCommand):
    help = (
        "Evaluate a model version and the baselines on its held-out photos under both protocols "
        "(known products, new photos; new products); print and store Recall@1/5/10, P@10, "
        "mAP@10 and NDCG@10. A refit version is not re-scored (its served model trained on every "
        "held-out photo): its figures stored in training are printed, each table saying whose. "
        "--gold-set: precision@k on the admins' judged pairs; --gold-photos: Recall@1/@10 on "
        "the admins' query photos (neither needs TensorFlow)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--model-version", type=int, required=True)
        parser.add_argument(
            "--gold-set",
            action="store_true",
            help="precision@k of the version's served lists on the pairs admins judged",
        )
        parser.add_argument(
            "--gold-photos",
            action="store_true",
            help="Recall@1/@10 of the version on the admins' query photos with expected SKUs",
        )
        parser.add_argument("--k", type=int, help=f"list length for --gold-set (default {GOLD_K})")

    def handle(self, *args, model_version, gold_set=False, gold_photos=False, k=None, **opts):
        if gold_set and gold_photos:  # only the first ran, silently
            raise CommandError(ERROR_BOTH_GOLD)
        if k is not None and not gold_set:  # ignored, silently
            raise CommandError(ERROR_K_ALONE)
        k = GOLD_K if k is None else k
        version = ModelVersion.objects.filter(pk=model_version).first()
        if version is None or not version.is_servable:
            raise CommandError(f"v{model_version} does not exist or is not trained")
        if gold_set:
            if k < 1:
                raise CommandError(f"--k must be at least 1, not {k}")
            self.write_gold_set(gold_set_precision(version=version, k=k))
            return
        if gold_photos:
            self.write_gold_photos(version)
            return
        if problem := model_files_problem(version):  # before TensorFlow loads
            raise CommandError(problem)
        from similarity.services.evaluation import RefitVersion, model_version_evaluate  # TF

        try:
            metrics = model_version_evaluate(version=version)
        except RefitVersion as exc:
            self.stdout.write(str(exc))
            metrics = version.metrics
        self.write_protocols(version, metrics)

    def write_protocols(self, version: ModelVersion, metrics: dict) -> None:
        # Imports TensorFlow (ml.training), loaded by now: evaluation scored or was refused.
        from similarity.services.training_notes import evaluation_notes

        evaluation = metrics.get("evaluation", {})
        self.stdout.write(
            f"v{version.pk} {version.backbone}, labels: {version.label_source}; deciding "
            f"protocol: {evaluation.get('protocol')}"
        )
        for note in evaluation_notes(metrics) if evaluation else ():  # no figure, and why
            self.stdout.write(note)
        for protocol, rows in metrics.get("protocols", {}).items():
            queries = rows.get("model", {}).get("queries")
            source = figures_source(evaluation, protocol)
            self.stdout.write(f"\n{protocol} ({queries} queries; figures of the {source})")
            self.stdout.write(f"{'':20}" + "".join(f"{name:>17}" for name in COLUMNS))
            for row, values in rows.items():
                self.stdout.write(f"{row:20}" + "".join(f"{values[c]:>17.3f}" for c in COLUMNS))

    def write_gold_photos(self, version: ModelVersion) -> None:
        from similarity.services.gold_photos import gold_photos_score

        score = gold_photos_score(version=version)
        if score.unscorable:
            raise CommandError(score.unscorable)
        if not score.scored:
            raise CommandError(ERROR_NO_GOLD_PHOTOS)
        self.stdout.write(
            f"v{version.pk} on {score.scored} of {score.photos} gold photos: "
            f"R@1 {score.recall_at_1:.3f}, R@10 {score.recall_at_10:.3f}"
        )
        for miss in score.misses:
            found = ", ".join(miss.found_skus)
            self.stdout.write(f"  photo {miss.photo_id}: expected {miss.expected_sku}, got {found}")

    def write_gold_set(self, report: GoldSetReport) -> None:
        if not report.categories:  # nothing judged, or every judged source was taken off sale
            pairs = judged_pair_count()
            raise CommandError(
                ERROR_NO_ACTIVE_SOURCES.format(pairs=pairs) if pairs else ERROR_NO_JUDGMENTS
            )
        self.stdout.write(
            f"v{report.version_id} on the gold set: precision@{report.k} on judged pairs "
            "(unjudged items count neither way)"
        )
        self.stdout.write(f"{'source category':40}{'sources':>9}{'judged/shown':>14}{'P@k':>8}")
        for score in [*report.categories, report.overall]:
            precision = "–" if score.precision is None else f"{score.precision:.3f}"
            judged = f"{score.judged}/{score.shown}"
            name = score.category_path or "(no category)"
            self.stdout.write(f"{name:40}{score.sources:>9}{judged:>14}{precision:>8}")
