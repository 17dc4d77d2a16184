from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from similarity.ml.options import (
    AUGMENTATIONS,
    BACKBONES,
    LABEL_SOURCES,
    LOSSES,
    METRICS,
    SCHEDULES,
    WEIGHT_CHOICES_HELP,
)
from similarity.services import job_cancel, model_version_create
from similarity.services.training_limits import TrainingOptionsError, training_options_errors
from similarity.services.versions import ERROR_INTERRUPTED

from ..progress import JobProgressBar

# A plain shop (one photo per product, no groups or categories) gives no protocol a question.
NO_FIGURES = "no held-out figures: its page says why"


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
        parser.add_argument("--augmentation", choices=AUGMENTATIONS)
        parser.add_argument("--loss", choices=LOSSES)
        parser.add_argument(
            "--finetune-fraction", type=float, help="share of the backbone fine-tuned, 0 to 1"
        )
        parser.add_argument("--learning-rate-schedule", choices=SCHEDULES)
        parser.add_argument(
            "--no-refit", action="store_true", help="serve the selection run (no refit on all)"
        )
        parser.add_argument(
            "--refit-models", type=int, help="refits served side by side, 1 to 4 (default 2)"
        )
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
                "augmentation",
                "loss",
                "finetune_fraction",
                "learning_rate_schedule",
                "refit_models",
            )
            if options[key] is not None
        }
        if errors := training_options_errors(params):
            raise CommandError(
                "; ".join(f"--{name.replace('_', '-')} {why}" for name, why in errors.items())
            )
        if options["no_refit"]:
            params["refit_on_all"] = False
        auto = False if options["no_auto_activate"] else None
        try:
            version = model_version_create(
                auto_activate=auto, enqueue=not options["here"], **params
            )
        except TrainingOptionsError as exc:  # the shop's PRODSIM_TRAINING_DEFAULTS
            raise CommandError(str(exc)) from None
        if not options["here"]:
            self.stdout.write(f"Model version v{version.pk} queued for the ml worker.")
            return
        job = version.jobs.get()
        try:
            from similarity.services.pipeline import job_run  # TensorFlow: only on this path

            with JobProgressBar(job_id=job.pk, disable=options["verbosity"] == 0):
                job = job_run(job_id=job.pk, max_attempts=settings.PRODSIM_ML_MAX_ATTEMPTS)
        except KeyboardInterrupt:
            # A running job has ended itself cancelled; one stopped before its claim (while
            # TensorFlow loads) ends here, or the reaper would hand it to the ml worker.
            job = job_cancel(job=job, error=ERROR_INTERRUPTED)
        version.refresh_from_db()
        if job.state != job.State.SUCCEEDED:
            raise CommandError(f"v{version.pk} {job.state}: {job.error}")
        figures = version.metrics.get("model")
        recall = f"R@1 {figures['recall_at_1']:.3f}" if figures else NO_FIGURES
        self.stdout.write(f"v{version.pk} {version.status}; {recall}")
