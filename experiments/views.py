import re

from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from catalog.models import product_page_url
from core import crawlers

from . import services, sessions
from .tokens import BadClickToken

BAD_LINK = "This link is invalid or has expired."
PREFETCH_REFUSED = "Strip links are followed when clicked, not prefetched."
# 503 is what browsers take as "no prefetch here" (the WPT speculation-rules tests use it): the
# prefetch is dropped and the real click comes through and is counted. A prefetched redirect
# would be replayed on the click without asking the server, and that click would be lost.
PREFETCH_REFUSED_STATUS = 503


@require_GET
@never_cache  # a cached redirect would skip the log
def click(request):
    """Log a click on a widget link, then send the shopper to the product's page."""
    if _is_prefetch(request):
        return HttpResponse(
            PREFETCH_REFUSED,
            status=PREFETCH_REFUSED_STATUS,
            content_type="text/plain; charset=utf-8",
        )
    session_id = sessions.session_hash_if_any(session=request.session)
    try:
        sku = services.click_log(
            token=request.GET.get("t", ""),
            session_id=session_id,
            counted=not crawlers.is_crawler(request),  # a link previewer fetching a shared link
        )
    except BadClickToken:
        return HttpResponseBadRequest(BAD_LINK, content_type="text/plain; charset=utf-8")
    if sku is None:
        raise Http404("This product is no longer sold.")
    # The target is a product's page built here from the signed link's product: the link cannot
    # redirect anywhere else.
    return redirect(product_page_url(sku))


def _is_prefetch(request) -> bool:
    """A browser fetching the link ahead of a click that may never come: `Sec-Purpose` (a list,
    e.g. "prefetch;prerender") in current browsers, `Purpose` in Chrome's <link rel=prefetch>."""
    purposes = f"{request.headers.get('Sec-Purpose', '')};{request.headers.get('Purpose', '')}"
    return "prefetch" in {purpose.strip().lower() for purpose in re.split("[;,]", purposes)}
