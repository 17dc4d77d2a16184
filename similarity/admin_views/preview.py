"""The side-by-side preview: one product's similar items under the active version and a
candidate, with their score breakdowns and the admin's good/bad verdict on each pair."""

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from catalog import selectors as catalog_selectors
from catalog.models import Product

from .. import fusion, selectors
from ..models import Judgment, ModelVersion
from ..selectors.judgments import GOLD_K, verdicts_for
from ..services import JudgmentError, judgment_record

SEARCH_RESULTS = 20  # enough to pick from; the query narrows the rest
SERVABLE = (ModelVersion.Status.READY, ModelVersion.Status.ACTIVE, ModelVersion.Status.ARCHIVED)
ERROR_NO_PERMISSION = "You may look at the preview, but not add judgments."


class PreviewForm(forms.Form):
    q = forms.CharField(required=False, label="Find a product")
    sku = forms.CharField(required=False)
    candidate = forms.ModelChoiceField(
        queryset=ModelVersion.objects.filter(status__in=SERVABLE), required=False
    )


class JudgmentForm(forms.Form):
    source = forms.ModelChoiceField(queryset=Product.objects.all())
    target = forms.ModelChoiceField(queryset=Product.objects.all())
    verdict = forms.ChoiceField(choices=Judgment.Verdict.choices)
    next = forms.CharField(required=False)


def _column(product: Product, version: ModelVersion | None, title: str) -> dict:
    if version is None:
        return {"title": title, "version": None, "items": []}
    result = selectors.similar_products_for(
        product=product, query=selectors.SimilarQuery(k=GOLD_K), version=version
    )
    return {"title": title, "version": version, "items": result.items}


def _signals(item) -> list[tuple[str, float | None, float | None]]:
    breakdown = item.breakdown
    return [
        (name, breakdown.scores.get(name), breakdown.contributions.get(name))
        for name in fusion.SIGNALS
    ]


def preview_view(request):
    form = PreviewForm(request.GET)
    form.is_valid()  # an unknown candidate drops out; the product and the search still work
    data = form.cleaned_data
    query, sku = data.get("q", ""), data.get("sku", "")
    active, candidate = selectors.active_version(), data.get("candidate")
    product = catalog_selectors.product_get(sku=sku) if sku else None
    columns = []
    if product is not None:
        columns = [_column(product, active, "active"), _column(product, candidate, "candidate")]
        shown = {item.product.pk for column in columns for item in column["items"]}
        verdicts = verdicts_for(source_id=product.pk, target_ids=list(shown))
        in_both = set.intersection(*({i.product.pk for i in c["items"]} for c in columns))
        for column in columns:
            column["rows"] = [
                (item, _signals(item), verdicts.get(item.product.pk), item.product.pk in in_both)
                for item in column["items"]
            ]
    context = {
        **admin.site.each_context(request),
        "title": "Preview similar items",
        "form": form,
        "query": query,
        "matches": catalog_selectors.product_list(query=query)[:SEARCH_RESULTS] if query else [],
        "product": product,
        "sku_not_found": bool(sku) and product is None,
        "active": active,
        "candidate": candidate,
        "columns": columns,
        "next": request.get_full_path(),
        "can_judge": request.user.has_perm("similarity.add_judgment"),
    }
    return TemplateResponse(request, "admin/similarity/preview.html", context)


@require_POST
def judge_view(request):
    if not request.user.has_perm("similarity.add_judgment"):
        messages.error(request, ERROR_NO_PERMISSION)
        return HttpResponseRedirect(reverse("similarity_admin:preview"))
    form = JudgmentForm(request.POST)
    if not form.is_valid():
        messages.error(request, form.errors.as_text())
        return HttpResponseRedirect(reverse("similarity_admin:preview"))
    data = form.cleaned_data
    try:
        judgment_record(
            source=data["source"], target=data["target"], verdict=data["verdict"], user=request.user
        )
    except JudgmentError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{data['source'].sku} → {data['target'].sku}: {data['verdict']}")
    allowed = url_has_allowed_host_and_scheme(
        data["next"], allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return HttpResponseRedirect(data["next"] if allowed else reverse("similarity_admin:preview"))
