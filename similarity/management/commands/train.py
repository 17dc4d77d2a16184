from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from similarity.ml.options import BACKBONES, LABEL_SOURCES, METRICS, WEIGHT_CHOICES_HELP
from similarity.services import model_version_create


class Command(BaseCommand):
    help = "Train a new image-embedding model version on the current catalogue."

    def add_arguments(self, parser):
        parser.add_argument("--backbone", choices=BACKBONES)
        parser.add_argument("--weights", help=WEIGHT_CHOICES_HELP)
        parser.add_argument("--input-size", type=int)
        parser.add_argument("--embedding-dim", type=int)
        parser.add_argument("--epochs", type=int)
        parser.add_argument("--label-source", choices=LABEL_SOURCES)
        parser.add_argument("--metric", choices=METRICS)
        parser.add_argument("--no-auto-activate", action="store_true")
        parser.add_argument(
            "--here", action="store_true", help="train in this process instead of the ml worker"
        )

    def handle(self, *args, **options):
        params = {
            key: options[key]
            for key in (
                "backbone",
                "weights",
                "input_size",
                "embedding_dim",
                "epochs",
                "label_source",
                "metric",
            )
            if options[key]
        }
        auto = False if options["no_auto_activate"] else None
        version = model_version_create(auto_activate=auto, enqueue=not options["here"], **params)
        if not options["here"]:
            self.stdout.write(f"Model version v{version.pk} queued for the ml worker.")
            return
        from similarity.services.pipeline import job_run  # TensorFlow: only on this path

        job = job_run(job_id=version.jobs.get().pk, max_attempts=settings.PRODSIM_ML_MAX_ATTEMPTS)
        version.refresh_from_db()
        if job.state != job.State.SUCCEEDED:
            raise CommandError(f"v{version.pk} {job.state}: {job.error}")
        self.stdout.write(
            f"v{version.pk} {version.status}; R@1 {version.metrics['model']['recall_at_1']:.3f}"
        )
