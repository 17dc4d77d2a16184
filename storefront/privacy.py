"""Your data: a shopper sees what the shop recorded about their visits, downloads it and erases
it, without asking anyone (the partner API's export and erasure, for the storefront's own
shoppers). Erasure is a POST with CSRF that redirects; the download is never cached.

Erasures are throttled per client IP: each one that deletes events queues a full rebuild of the
derived lists, and this page needs no key, so a script viewing a product and erasing in a loop
could otherwise keep the workers rebuilding."""

from django.conf import settings
from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from rest_framework.throttling import SimpleRateThrottle

from behaviour.services.visitors import (
    export_json,
    visitor_event_counts,
    visitor_events_export,
)
from catalog import selectors as catalog_selectors
from core.session_turns import session_turns
from core.sign_in_failures import client_key
from experiments import sessions as experiment_sessions

from . import basket_state, history, placed_orders, shopper

ERASED = (
    "Erased {count} recorded event{plural}. Lists computed from every shopper's events "
    "(bought together, trending) lose your share at their next full rebuild, normally within "
    "a minute."
)
ERROR_THROTTLED = "Too many erasures from your network: try again in an hour."
EXPORT_FILENAME = "your-data.json"
# What the page calls each count, in the order it lists them.
RECORDED = {
    "view": "Products viewed",
    "add_to_cart": "Added to your basket",
    "purchase": "Products ordered",
    "click": "Products clicked",  # sent by the shop's own pages or apps (the API's events)
    "impressions": "Recommendations shown to you while the shop tests them",
    "clicks": "Of those, clicked",
}


class ErasureThrottle(SimpleRateThrottle):
    """DRF's rate counter in the shared cache, keyed by the client IP as the API's throttles
    see it (behind a proxy, settings.PRODSIM_TRUSTED_PROXIES), hashed: the key of a shopper
    who erased their data keeps no address of theirs."""

    scope = "storefront-erasure"
    rate = "10/hour"  # generous for people, who erase once; a loop stops at the tenth

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": client_key(request)}


@require_GET
@never_cache
def your_data(request):
    return _page(request)


@require_GET
@never_cache
def your_data_export(request):
    visitor = shopper.known_visitor_id(request)
    events = visitor_events_export(visitor_id=visitor) if visitor else []
    # The visitor's A/B log, as their erasure deletes it: a customer's from every session.
    ab_log = experiment_sessions.shopper_log(session=request.session, visitor_id=visitor)
    body = {
        "events": export_json(events),
        **_session_data(request.session),
        **{part: export_json(rows) for part, rows in ab_log.items()},
    }
    response = JsonResponse(body, json_dumps_params={"indent": 2})
    response["Content-Disposition"] = f'attachment; filename="{EXPORT_FILENAME}"'
    return response


@require_POST
@session_turns
def your_data_erase(request):
    if not ErasureThrottle().allow_request(request, None):
        messages.error(request, ERROR_THROTTLED)
        return _page(request, status=429)
    count = shopper.visitor_forget(request)
    messages.success(request, ERASED.format(count=count, plural="" if count == 1 else "s"))
    return redirect("storefront:your-data")


def _session_data(session) -> dict:
    """What the visit's session holds about the shopper besides events: the recently viewed
    products (newest first; those withdrawn or deleted since by the SKU they had, as the session
    still holds them), the basket and the order just placed (its page's copy; an erasure
    forgets it)."""
    viewed = history.recently_viewed_ids(session)
    skus = catalog_selectors.product_skus_by_id(ids=viewed)
    order = placed_orders.last_order(session)
    return {
        "recently_viewed": [skus[pid] for pid in viewed if pid in skus],
        "basket": [
            {"sku": sku, "quantity": quantity}
            for sku, quantity in basket_state.quantities(session).items()
        ],
        "last_order": order
        and {
            "order_id": order["order_id"],
            "lines": [
                {key: line[key] for key in ("sku", "title", "quantity", "total", "currency")}
                for line in order["lines"]
            ],
        },
    }


def _page(request, status: int = 200):
    """The counts of what the download holds: events by kind and the A/B log (impressions,
    clicks), so "nothing is recorded" is said only when nothing is."""
    visitor = shopper.known_visitor_id(request)
    counts = visitor_event_counts(visitor_id=visitor) if visitor else {}
    logged = experiment_sessions.shopper_log_counts(session=request.session, visitor_id=visitor)
    everything = {**counts, **logged}
    context = {
        "rows": [
            (label, everything[name]) for name, label in RECORDED.items() if everything.get(name)
        ],
        "total": sum(everything.values()),
        "retention_days": settings.PRODSIM_EVENT_RETENTION_DAYS,
    }
    return render(request, "storefront/your_data.html", context, status=status)
