"""A model version's page section on its A/B tests (registered by apps.py: similarity cannot
import experiments)."""

from django.urls import reverse
from django.utils.html import format_html_join

from similarity.models import ModelVersion

from .admin_html import results_html
from .admin_state import experiment_state
from .selectors import version_experiments

NO_EXPERIMENTS = "– (no A/B test yet: start one under Experiments with this version as candidate)"


def version_experiments_html(*, version: ModelVersion) -> str:
    """A version page's online evidence: each experiment it took part in, newest first."""
    found = version_experiments(version=version)
    if not found:
        return NO_EXPERIMENTS
    return format_html_join(
        "",
        '<h4><a href="{}">{}</a> · {} · {} % of sessions to {} · this version: {}</h4>{}',
        (
            (
                reverse("admin:experiments_experiment_change", args=[item.experiment.pk]),
                item.experiment.name,
                experiment_state(item.experiment),
                item.experiment.share,
                f"v{item.experiment.candidate_id}",
                " and ".join(item.roles) or "–",
                results_html(item.results),
            )
            for item in found
        ),
    )
