from django.core.management.base import BaseCommand, CommandError

from similarity.ml.options import METRIC_COLUMNS as COLUMNS
from similarity.models import ModelVersion
from similarity.selectors.judgments import GOLD_K, GoldSetReport, gold_set_precision

ERROR_NO_JUDGMENTS = "no judged pairs yet: mark pairs good or bad in the admin preview"


class Command(BaseCommand):
    help = (
        "Evaluate a model version and the baselines on its held-out queries; print and store "
        "Recall@1/5/10, P@10, mAP@10 and NDCG@10. With --gold-set: score it on the admins' "
        "judged pairs instead (precision@k per source category; no TensorFlow)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--model-version", type=int, required=True)
        parser.add_argument(
            "--gold-set",
            action="store_true",
            help="precision@k of the version's served lists on the pairs admins judged",
        )
        parser.add_argument("--k", type=int, default=GOLD_K, help="list length for --gold-set")

    def handle(self, *args, model_version, gold_set=False, k=GOLD_K, **options):
        version = ModelVersion.objects.filter(pk=model_version).first()
        if version is None or not version.is_servable:
            raise CommandError(f"v{model_version} does not exist or is not trained")
        if gold_set:
            self.write_gold_set(gold_set_precision(version=version, k=k))
            return
        from similarity.services.evaluation import model_version_evaluate  # TensorFlow

        metrics = model_version_evaluate(version=version)
        self.stdout.write(
            f"v{version.pk} {version.backbone}, {metrics['model']['queries']} "
            f"held-out queries, labels: {version.label_source}"
        )
        self.stdout.write(f"{'':20}" + "".join(f"{name:>17}" for name in COLUMNS))
        for row, values in metrics.items():
            self.stdout.write(f"{row:20}" + "".join(f"{values[c]:>17.3f}" for c in COLUMNS))

    def write_gold_set(self, report: GoldSetReport) -> None:
        if not report.categories:
            raise CommandError(ERROR_NO_JUDGMENTS)
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
