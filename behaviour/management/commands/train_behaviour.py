from django.core.management.base import BaseCommand, CommandError

from behaviour.ml.sequence.config import (
    ARCHITECTURES,
    MAX_DIM,
    MAX_EPOCHS,
    MIN_DIM,
    MIN_EPOCHS,
    SequenceConfig,
)
from behaviour.services.sequence import (
    sequence_training_cancel,
    sequence_training_job_run,
    sequence_training_start,
)


class Command(BaseCommand):
    help = (
        "Train a sequence model version on the shoppers' events (time split: the last 30 days "
        "validate). Runs here and prints each epoch; --queue hands it to the ml worker instead. "
        "The version is activated when it beats the active one on validation if "
        "PRODSIM_AUTO_ACTIVATE is on (the default), unless --no-activate."
    )

    def add_arguments(self, parser):
        defaults = SequenceConfig()
        parser.add_argument("--architecture", choices=ARCHITECTURES, default=defaults.architecture)
        parser.add_argument(
            "--epochs",
            type=int,
            default=defaults.epochs,
            help=f"at most this many passes ({MIN_EPOCHS}-{MAX_EPOCHS}); early stopping on "
            "validation Recall@20 and PRODSIM_SEQUENCE_TRAINING_BUDGET_S may end it sooner",
        )
        parser.add_argument(
            "--dim",
            type=int,
            default=defaults.dim,
            help=f"size of the product and shopper vectors ({MIN_DIM}-{MAX_DIM})",
        )
        parser.add_argument(
            "--max-len",
            type=int,
            default=defaults.max_len,
            help="the newest events of a shopper the model reads",
        )
        parser.add_argument(
            "--batch-size", type=int, default=defaults.batch_size, help="windows per step"
        )
        parser.add_argument(
            "--seed", type=int, default=defaults.seed, help="for a repeatable run (0 to 2**32-1)"
        )
        parser.add_argument(
            "--negatives",
            type=int,
            default=defaults.negatives,
            help="0: full softmax over every product (default); N: N sampled products per "
            "batch, for catalogues where an epoch over every product takes too long",
        )
        parser.add_argument(
            "--no-content",
            action="store_true",
            help="ids only: no projection of the products' image vectors (no cold start)",
        )
        parser.add_argument("--no-activate", action="store_true", help="never activate it")
        parser.add_argument("--queue", action="store_true", help="enqueue and return at once")

    def handle(self, *args, **options):
        try:
            config = SequenceConfig.for_training(
                architecture=options["architecture"],
                epochs=options["epochs"],
                dim=options["dim"],
                max_len=options["max_len"],
                batch_size=options["batch_size"],
                seed=options["seed"],
                negatives=options["negatives"],
                use_content=not options["no_content"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        job = sequence_training_start(
            config=config,
            auto_activate=False if options["no_activate"] else None,
            enqueue=options["queue"],
        )
        if options["queue"]:
            self.stdout.write(f"Sequence training #{job.pk} queued (version {job.version_id}).")
            return
        try:
            job = sequence_training_job_run(job_id=job.pk, on_progress=self._report)
        except KeyboardInterrupt:
            # A running job has ended itself cancelled; one Ctrl-C stopped before its claim
            # ends here. Either way the CommandError below says so.
            job = sequence_training_cancel(job=job)
        job.version.refresh_from_db()
        self.stdout.write(f"{job.version}: {job.state}; figures {job.version.metrics}")
        if job.state != job.State.SUCCEEDED:
            raise CommandError(job.error)

    def _report(self, report: dict) -> None:
        self.stdout.write(" ".join(f"{key}={value}" for key, value in report.items()))
