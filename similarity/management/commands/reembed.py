from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from core.jobs import JobCancelled
from similarity.models import ModelVersion
from similarity.services.reembed import ERROR_INTERRUPTED, ReembedRefused, reembed


class Command(BaseCommand):
    help = (
        "Embed product images with a model version (default: the active one). Resumable: a run "
        "stopped by Ctrl-C or a crash continues where it stopped (one an admin cancelled starts "
        "afresh); repeating a run changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--model-version", type=int, help="version number (default: active)")
        parser.add_argument(
            "--only-missing",
            action="store_true",
            help="skip images that already have an up-to-date vector",
        )
        parser.add_argument(
            "--batch-size", type=int, default=64, help="images decoded and embedded at once"
        )

    def handle(self, *args, model_version, only_missing, batch_size, **options):
        if model_version is not None:
            version = ModelVersion.objects.filter(pk=model_version).first()
            if version is None:
                raise CommandError(f"no model version v{model_version}")
        else:
            version = ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).first()
            if version is None:
                raise CommandError("no active model version: name one with --model-version")
        with tqdm(unit="img", disable=options["verbosity"] == 0) as bar:

            def show(state):
                bar.total = state.total
                bar.set_postfix(failed=state.failed)
                bar.update(state.done - bar.n)

            try:
                state = reembed(
                    version=version,
                    only_missing=only_missing,
                    batch_size=batch_size,
                    progress=show,
                    end_failed_on_error=True,  # an operator reruns it; nobody else resumes it
                )
            except (ReembedRefused, JobCancelled) as exc:
                raise CommandError(str(exc)) from None
            except KeyboardInterrupt:  # the job has ended cancelled; a rerun continues it
                raise CommandError(f"v{version.pk}: {ERROR_INTERRUPTED}") from None
            except Exception as exc:  # the job ended failed with this reason (and the log)
                raise CommandError(f"v{version.pk}: {type(exc).__name__}: {exc}") from exc
        self.stdout.write(f"v{version.pk}: {state.done} images embedded, {state.failed} failed")
