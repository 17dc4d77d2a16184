"""A job's admin page that follows the job live: the `<id>/progress/` JSON view that
static/js/job_progress.js polls, the change page's live panel (templates/admin/core/
job_change_form.html) and the *Cancel* button and action.

The concrete admin names the panel's rows (LiveRow), its texts (LivePageTexts) and the values
(live_values, a selector); the page, the view and the cancel controls are the same for every job.
"""

from dataclasses import dataclass

from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected as django_delete_selected
from django.contrib.messages import WARNING
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from .protocol import JobRow

EMPTY = "–"  # what the page and static/js/job_progress.js show for a value not reported yet
# An import job's page lists its first problems, the CSV download every one: all of them inline
# took a second per thousand, past the web server's time-out for a 100k-line import gone wrong.
PAGE_PROBLEMS = 200
PROBLEMS_ALL_SHOWN = "{count} problem(s);"
PROBLEMS_FIRST_SHOWN = "The first {shown} of {count} problems;"
DELETED_PROBLEMS = "{count} problem(s) reported by this import"  # the delete confirmation's line


def admin_object_or_404(model_admin, request, object_id: str):
    """The row a custom admin URL names, as Django's own change page finds it: an id that is no
    row's, or not even a valid id ("abc"), is a 404, never a 500 from the database."""
    obj = model_admin.get_object(request, object_id)
    if obj is None:
        raise Http404(f"No {model_admin.opts.verbose_name} with id {object_id!r}.")
    return obj


@dataclass(frozen=True)
class CancelMessages:
    requested: str  # {pk}
    cancelled_queued: str  # {pk}
    already_finished: str  # {pk}, {state}
    action_done: str  # {cancelled}, {asked}


@dataclass(frozen=True)
class LiveField:
    """One value of the panel: `key` of the live values; `format` as job_progress.js formats
    it ("fixed3": three decimals, "duration": seconds), so the first render and every poll agree."""

    key: str
    format: str = ""

    def text(self, value) -> str:
        if value is None or value == "":
            return EMPTY
        if self.format == "fixed3" and isinstance(value, int | float):
            return f"{value:.3f}"
        if self.format == "duration":
            return f"{value} s"
        return str(value)


class LiveRow:
    """A row of the panel: a label and its values, shown "a / b" when there are several."""

    def __init__(self, label: str, *fields: str | LiveField):
        self.label = label
        self.fields = tuple(LiveField(f) if isinstance(f, str) else f for f in fields)

    def render(self, values: dict) -> dict:
        cells = [
            {"key": f.key, "format": f.format, "text": f.text(values.get(f.key))}
            for f in self.fields
        ]
        return {"label": self.label, "cells": cells}


@dataclass(frozen=True)
class LivePageTexts:
    noun: str  # "import": the button's id is cancel-<noun>, its text "Cancel this <noun>"
    cancel_requested: str  # shown once an admin has asked the running job to stop
    report_link: str  # the link that reloads a finished job's page


class CancelJobAdminMixin:
    """A job admin's `<id>/cancel/` POST view (the change page's button) and *Cancel* action.

    Subclasses set `cancel_messages` and `cancel_permission` and define cancel_job(job)."""

    actions = ["cancel"]
    cancel_messages: CancelMessages
    cancel_permission: str  # "app_label.codename": whoever may start the work may stop it

    def cancel_job(self, job: JobRow) -> JobRow:
        raise NotImplementedError

    def has_cancel_permission(self, request) -> bool:
        return request.user.has_perm(self.cancel_permission)

    def job_url_name(self, view: str) -> str:
        return f"{self.opts.app_label}_{self.opts.model_name}_{view}"

    def cancel_urls(self) -> list:
        view = self.admin_site.admin_view(self.cancel_view)
        return [path("<path:object_id>/cancel/", view, name=self.job_url_name("cancel"))]

    @method_decorator(require_POST)
    def cancel_view(self, request, object_id):
        if not self.has_cancel_permission(request):
            raise PermissionDenied
        job = admin_object_or_404(self, request, object_id)
        texts = self.cancel_messages
        if job.is_finished:
            messages.warning(request, texts.already_finished.format(pk=job.pk, state=job.state))
        else:
            job = self.cancel_job(job)
            ended = job.state == self.model.State.CANCELLED
            done = texts.cancelled_queued if ended else texts.requested
            messages.success(request, done.format(pk=job.pk))
        change = f"{self.admin_site.name}:{self.job_url_name('change')}"
        return HttpResponseRedirect(reverse(change, args=[job.pk]))

    @admin.action(description="Cancel the selected %(verbose_name_plural)s", permissions=["cancel"])
    def cancel(self, request, queryset):
        states = [self.cancel_job(job).state for job in queryset if not job.is_finished]
        cancelled = states.count(self.model.State.CANCELLED)
        texts = self.cancel_messages
        self.message_user(
            request, texts.action_done.format(cancelled=cancelled, asked=len(states) - cancelled)
        )


class LiveJobAdminMixin(CancelJobAdminMixin):
    """The live change page of a job: mix in before admin.ModelAdmin; set `live_rows`,
    `live_texts` and the cancel attributes, and define live_values(job) (the JSON the page polls,
    with at least core.jobs.progress.live_state's keys)."""

    change_form_template = "admin/core/job_change_form.html"
    live_rows: tuple[LiveRow, ...]
    live_texts: LivePageTexts

    def live_values(self, job: JobRow) -> dict:
        raise NotImplementedError

    def get_urls(self):
        view = self.admin_site.admin_view(self.progress_view)
        progress = path("<path:object_id>/progress/", view, name=self.job_url_name("progress"))
        return [progress, *self.cancel_urls(), *super().get_urls()]

    @method_decorator(never_cache)
    def progress_view(self, request, object_id):
        """The job's real state from its row, for the page's script (no template, no reload)."""
        job = admin_object_or_404(self, request, object_id)
        if not self.has_view_permission(request, job):
            raise PermissionDenied
        return JsonResponse(self.live_values(job))

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            live = self.live_values(obj)
            name = self.admin_site.name
            context.update(
                live=live,
                live_rows=[row.render(live) for row in self.live_rows],
                live_texts=self.live_texts,
                live_progress_url=reverse(f"{name}:{self.job_url_name('progress')}", args=[obj.pk]),
                live_cancel_url=reverse(f"{name}:{self.job_url_name('cancel')}", args=[obj.pk]),
                can_cancel=self.has_cancel_permission(request),
            )
        return super().render_change_form(request, context, add, change, form_url, obj)


class ImportProblemsAdminMixin:
    """An import job's problems on its page (the `problems` field: the first ones) and every one
    as CSV, and counted (not listed) on its delete confirmation; mix in before LiveJobAdminMixin
    and define problems_csv(job) and problems_filename (a format with {pk})."""

    problems_filename: str

    def problems_csv(self, job) -> str:
        raise NotImplementedError

    def get_urls(self):
        view = self.admin_site.admin_view(self.problems_csv_view)
        name = self.job_url_name("problems")
        return [path("<path:object_id>/problems.csv", view, name=name), *super().get_urls()]

    def problems_csv_view(self, request, object_id):
        job = admin_object_or_404(self, request, object_id)
        if not self.has_view_permission(request, job):
            raise PermissionDenied
        response = HttpResponse(self.problems_csv(job), content_type="text/csv; charset=utf-8")
        filename = self.problems_filename.format(pk=job.pk)
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

    @admin.display(description="Problems by line")
    def problems(self, job) -> str:
        url = reverse(f"{self.admin_site.name}:{self.job_url_name('problems')}", args=[job.pk])
        return problems_html(job.row_errors.all(), csv_url=url)

    def get_deleted_objects(self, objs, request):
        """What the delete confirmation lists: each import, and its problems as one line. One
        item per problem (Django's page) took 6 s and 11 MB for an import of 100k bad lines."""
        jobs = list(objs)
        problem_model = self.model._meta.get_field("row_errors").related_model
        problems = dict(
            problem_model.objects.filter(job__in=jobs)
            .order_by()
            .values_list("job")
            .annotate(Count("pk"))
        )
        change = f"{self.admin_site.name}:{self.job_url_name('change')}"
        label, listed = capfirst(self.opts.verbose_name), []
        for job in jobs:
            url = reverse(change, args=[job.pk])
            listed.append(format_html('{}: <a href="{}">{}</a>', label, url, job))
            if count := problems.get(job.pk):
                listed.append([DELETED_PROBLEMS.format(count=count)])
        counts = {self.opts.verbose_name_plural: len(jobs)}
        if total := sum(problems.values()):
            counts[problem_model._meta.verbose_name_plural] = total
        allowed = all(self.has_delete_permission(request, job) for job in jobs)
        return listed, counts, set() if allowed else {self.opts.verbose_name}, []


class EndedImportsDeleteMixin:
    """Django's Delete selected over the imports no worker runs: running ones are left out with
    the admin's `delete_kept_running` message (cancel them first), not refused as if the user
    lacked the permission (has_delete_permission refuses a running import)."""

    delete_kept_running: str  # the message, with {count}: each import admin words its own

    @admin.action(permissions=["delete"], description=django_delete_selected.short_description)
    def delete_selected(self, request, queryset):
        running = self.model.State.RUNNING
        if kept := queryset.filter(state=running).count():
            self.message_user(request, self.delete_kept_running.format(count=kept), WARNING)
        ended = queryset.exclude(state=running)
        return django_delete_selected(self, request, ended) if ended.exists() else None


class WorkJobAdminMixin:
    """A job that works on something else (a model version): its page is a record, and only a
    finished job may be deleted. Saved, the page would write the row back over what its worker
    wrote meanwhile; deleted while queued or running, the worker could not end it and what it
    works on would stay half-way for good (a version queued or training cannot be deleted).
    An unfinished job is cancelled first (Cancel on its page)."""

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and not obj.is_finished:
            return False
        return super().has_delete_permission(request, obj)


def problems_html(problems, *, csv_url: str, limit: int = PAGE_PROBLEMS) -> str:
    """An import job's problems (a queryset of ImportJobRow-shaped rows, in line order) as the
    first `limit` in a table, how many there are, and a link to the CSV of every one."""
    count = problems.count()
    if not count:
        return EMPTY
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        ((e.line, e.get_level_display(), e.column, e.sku, e.message) for e in problems[:limit]),
    )
    shown = min(count, limit)
    heading = PROBLEMS_ALL_SHOWN if shown == count else PROBLEMS_FIRST_SHOWN
    return format_html(
        '<p>{} <a href="{}" id="problems-csv">download every one (CSV)</a>.</p>'
        "<table><thead><tr><th>line</th><th>level</th><th>column</th><th>sku</th>"
        "<th>message</th></tr></thead><tbody>{}</tbody></table>",
        heading.format(shown=shown, count=count),
        csv_url,
        rows,
    )
