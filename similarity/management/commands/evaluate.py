from django.core.management.base import BaseCommand, CommandError

from similarity.ml.options import METRIC_COLUMNS as COLUMNS
from similarity.models import ModelVersion


class Command(BaseCommand):
    help = (
        "Evaluate a model version and the baselines on its held-out queries; print and store "
        "Recall@1/5/10, P@10, mAP@10 and NDCG@10."
    )

    def add_arguments(self, parser):
        parser.add_argument("--model-version", type=int, required=True)

    def handle(self, *args, model_version, **options):
        version = ModelVersion.objects.filter(pk=model_version).first()
        if version is None or not version.is_servable:
            raise CommandError(f"v{model_version} does not exist or is not trained")
        from similarity.services.evaluation import model_version_evaluate  # TensorFlow

        metrics = model_version_evaluate(version=version)
        self.stdout.write(
            f"v{version.pk} {version.backbone}, {metrics['model']['queries']} "
            f"held-out queries, labels: {version.label_source}"
        )
        self.stdout.write(f"{'':20}" + "".join(f"{name:>17}" for name in COLUMNS))
        for row, values in metrics.items():
            self.stdout.write(f"{row:20}" + "".join(f"{values[c]:>17.3f}" for c in COLUMNS))
