from django.contrib import admin, messages
from django.shortcuts import redirect
from django.urls import reverse

from behaviour.models import SequenceModelVersion
from similarity.models import ModelVersion

from . import selectors, services
from .admin_html import results_html, sequence_version_link, version_links
from .admin_state import experiment_state
from .models import Experiment

DELETE_RUNNING = (
    "A running experiment cannot be deleted: stop it first (with the permission to start or "
    "stop experiments). Its results are kept."
)
DELETE_RAN = (
    "This experiment has run: deleting it would throw its results away, which needs the "
    "permission to start or stop experiments as well. Keep it as the record of the test."
)


def delete_refusal(*, experiment: Experiment, can_run: bool) -> str | None:
    """Why this experiment may not be deleted, or None. Deleting a running one would stop it
    (a "run" decision) and every test's impressions would lose their experiment: a test that
    has run is its own record, so only someone who may decide tests may throw it away."""
    if experiment.active:
        return DELETE_RUNNING
    if experiment.started_at is not None and not can_run:
        return DELETE_RAN
    return None


@admin.register(Experiment)
class ExperimentAdmin(admin.ModelAdmin):
    """A/B tests of one widget's candidate variant against it as served, with their evidence."""

    list_display = [
        "name",
        "widget",
        "variant",
        "candidate_link",
        "share",
        "state",
        "started_at",
        "ended_at",
    ]
    # By candidate: a version page can link to ?candidate__id__exact=<version id>
    list_filter = ["active", "widget", "candidate"]
    actions = ["start", "stop"]
    fields = [
        "name",
        "widget",
        "variant",
        "candidate",
        "sequence_candidate",
        "share",
        "state",
        "started_at",
        "ended_at",
        "results",
    ]
    readonly_fields = ["state", "started_at", "ended_at", "results"]
    STARTED = ["name", "widget", "variant", "candidate_link", "sequence_candidate", "share"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request).select_related("candidate", "sequence_candidate")
        return selectors.experiments_with_split_state(queryset)

    def get_readonly_fields(self, request, obj=None):
        # Changing the candidate or the share after the start would mix two tests in one result.
        if obj is not None and obj.started_at is not None:
            return [*self.STARTED, *self.readonly_fields]
        return self.readonly_fields

    def get_fields(self, request, obj=None):
        if obj is not None and obj.started_at is not None:
            return [*self.STARTED, *self.fields[6:]]
        return self.fields

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "candidate":
            kwargs["queryset"] = ModelVersion.objects.filter(status=ModelVersion.Status.READY)
        if db_field.name == "sequence_candidate":
            ready = SequenceModelVersion.Status.READY
            kwargs["queryset"] = SequenceModelVersion.objects.filter(status=ready)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_change_permission(self, request, obj=None) -> bool:
        # A started experiment is all read-only (get_readonly_fields): its page is a view, with
        # no Save to report a change that cannot happen. Start, stop and delete are not changes.
        if obj is not None and obj.started_at is not None:
            return False
        return super().has_change_permission(request, obj)

    def has_run_permission(self, request) -> bool:
        return request.user.has_perm("experiments.run_experiment")

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and self._delete_refusal(request, obj):
            return False
        return super().has_delete_permission(request, obj)

    def delete_view(self, request, object_id, extra_context=None):
        # Say why instead of Django's bare 403 when the rule, not the account, refuses it.
        experiment = self.get_object(request, object_id)
        refusal = experiment and self._delete_refusal(request, experiment)
        if refusal and super().has_delete_permission(request, experiment):
            self.message_user(request, refusal, messages.ERROR)
            return redirect(reverse("admin:experiments_experiment_change", args=[experiment.pk]))
        return super().delete_view(request, object_id, extra_context)

    def _delete_refusal(self, request, experiment: Experiment) -> str | None:
        return delete_refusal(experiment=experiment, can_run=self.has_run_permission(request))

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

    @admin.display(description="State")
    def state(self, experiment: Experiment) -> str:
        return experiment_state(experiment) if experiment.pk else "–"

    @admin.display(description="Candidate version")
    def candidate_link(self, experiment: Experiment) -> str:
        if experiment.sequence_candidate:
            return sequence_version_link(experiment.sequence_candidate)
        return version_links([experiment.candidate] if experiment.candidate else [])

    @admin.display(description="Results (the widget's strip, CTR in %, 95 % intervals)")
    def results(self, experiment: Experiment) -> str:
        if experiment.pk is None:
            return "–"
        return results_html(selectors.experiment_results(experiment=experiment))
