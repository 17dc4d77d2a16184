"""The admin's delete confirmation for rows whose cascade is too large to list one by one (a
model version's vectors: a row per photo or product of the catalogue). Django's confirmation
collects and renders every row it would delete, each with its own copy of the parent, on the
page and again on the confirming POST: past a web worker's time limit for a large shop's
version. Here each cascade is one count per row deleted."""

from django.db import models
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import capfirst


def deleted_objects_counted(model_admin, objs, request) -> tuple[list, dict, set, list]:
    """What ModelAdmin.get_deleted_objects returns (listed, counts, permissions needed,
    protected), with the directly cascading rows counted rather than listed."""
    rows = list(objs)
    opts = model_admin.opts
    cascades = [r for r in _reverse_relations(opts) if r.on_delete is models.CASCADE]
    per_row = {relation: _counts_by_row(relation, rows) for relation in cascades}
    listed, counts = [], {opts.verbose_name_plural: len(rows)}
    change = f"{model_admin.admin_site.name}:{opts.app_label}_{opts.model_name}_change"
    for row in rows:
        url = reverse(change, args=[row.pk])
        listed.append(format_html('{}: <a href="{}">{}</a>', capfirst(opts.verbose_name), url, row))
        children = [
            f"{count} {relation.related_model._meta.verbose_name_plural}"
            for relation, by_row in per_row.items()
            if (count := by_row.get(row.pk))
        ]
        if children:
            listed.append(children)
    for relation, by_row in per_row.items():
        if total := sum(by_row.values()):
            counts[relation.related_model._meta.verbose_name_plural] = total
    allowed = all(model_admin.has_delete_permission(request, row) for row in rows)
    return listed, counts, set() if allowed else {opts.verbose_name}, _protected(opts, rows)


def _reverse_relations(opts) -> list:
    """Every foreign key pointing at the model, those without a reverse name (`+`) too: the
    vectors' are."""
    fields = opts.get_fields(include_hidden=True)
    return [field for field in fields if field.auto_created and not field.concrete]


def _counts_by_row(relation, rows) -> dict:
    name = relation.field.name
    related = relation.related_model._base_manager.filter(**{f"{name}__in": rows})
    return dict(related.order_by().values_list(name).annotate(Count("pk")))


def _protected(opts, rows) -> list[str]:
    """The rows that keep these from being deleted (on_delete=PROTECT), as Django names them."""
    protected = []
    for relation in _reverse_relations(opts):
        if relation.on_delete is models.PROTECT:
            holders = relation.related_model._base_manager.filter(
                **{f"{relation.field.name}__in": rows}
            )
            label = capfirst(relation.related_model._meta.verbose_name)
            protected += [f"{label}: {holder}" for holder in holders]
    return protected
