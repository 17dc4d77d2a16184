from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from similarity.models import ModelVersion

from . import selectors, services
from .models import Experiment
from .stats import Interval

VERDICT_BETTER = "The candidate's CTR is higher: the 95 % interval of the difference is above 0."
VERDICT_WORSE = "The candidate's CTR is lower: the 95 % interval of the difference is below 0."
VERDICT_OPEN = "No difference shown yet: the 95 % interval of the difference includes 0."
VERDICT_NO_DATA = "No impressions in both arms yet."


def _percent(value: float) -> str:
    return f"{100 * value:.2f} %"


def _interval(interval: Interval | None, *, signed: bool = False) -> str:
    if interval is None:
        return "–"
    sign = "+" if signed else ""
    return (
        f"{100 * interval.estimate:{sign}.2f} [{100 * interval.low:{sign}.2f}, "
        f"{100 * interval.high:{sign}.2f}]"
    )


def _version_links(versions: list[ModelVersion]) -> str:
    if not versions:
        return "–"
    return format_html_join(
        ", ",
        '<a href="{}">{}</a>',
        ((reverse("admin:similarity_modelversion_change", args=[v.pk]), str(v)) for v in versions),
    )


@admin.register(Experiment)
class ExperimentAdmin(admin.ModelAdmin):
    """A/B tests of a candidate model version against the active one, with their evidence."""

    list_display = ["name", "candidate_link", "share", "active", "started_at", "ended_at"]
    # By candidate: a version page can link to ?candidate__id__exact=<version id>
    list_filter = ["active", "candidate"]
    actions = ["start", "stop"]
    fields = ["name", "candidate", "share", "active", "started_at", "ended_at", "results"]
    readonly_fields = ["active", "started_at", "ended_at", "results"]

    def get_readonly_fields(self, request, obj=None):
        # Changing the candidate or the share after the start would mix two tests in one result.
        if obj is not None and obj.started_at is not None:
            return ["name", "candidate_link", "share", *self.readonly_fields]
        return self.readonly_fields

    def get_fields(self, request, obj=None):
        if obj is not None and obj.started_at is not None:
            return ["name", "candidate_link", *self.fields[2:]]
        return self.fields

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "candidate":
            kwargs["queryset"] = ModelVersion.objects.filter(status=ModelVersion.Status.READY)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_run_permission(self, request) -> bool:
        return request.user.has_perm("experiments.run_experiment")

    @admin.action(description="Start the selected experiment", permissions=["run"])
    def start(self, request, queryset):
        self._change_state(request, queryset, services.experiment_start, "started")

    @admin.action(description="Stop the selected experiment", permissions=["run"])
    def stop(self, request, queryset):
        self._change_state(request, queryset, services.experiment_stop, "stopped")

    def _change_state(self, request, queryset, service, done: str) -> None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one experiment.", messages.ERROR)
            return
        try:
            experiment = service(experiment=queryset.get())
        except services.ExperimentStateError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        self.message_user(request, f"“{experiment}” {done}.")

    @admin.display(description="Candidate version")
    def candidate_link(self, experiment: Experiment) -> str:
        return _version_links([experiment.candidate])

    @admin.display(description="Results (similar items strip, CTR in %, 95 % intervals)")
    def results(self, experiment: Experiment) -> str:
        if experiment.pk is None:
            return "–"
        results = selectors.experiment_results(experiment=experiment)
        rows = format_html_join(
            "",
            "<tr><th>{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    arm.arm,
                    _version_links(arm.versions),
                    arm.impressions,
                    arm.clicks,
                    arm.clicked_impressions,
                    _interval(arm.ctr),
                )
                for arm in results.arms.values()
            ),
        )
        return format_html(
            "<table><tr><th>Arm</th><th>Served by</th><th>Impressions</th><th>Clicks</th>"
            "<th>Clicked impressions</th><th>CTR [95 % CI]</th></tr>{}"
            "<tr><th colspan=5>Difference, candidate − control (percentage points)</th>"
            "<td>{}</td></tr></table><p>{}</p>",
            rows,
            _interval(results.difference, signed=True),
            _verdict(results.difference),
        )


def _verdict(difference: Interval | None) -> str:
    if difference is None:
        return VERDICT_NO_DATA
    if difference.low > 0:
        return VERDICT_BETTER
    if difference.high < 0:
        return VERDICT_WORSE
    return VERDICT_OPEN
