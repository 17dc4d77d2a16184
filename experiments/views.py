from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from catalog.models import product_page_url
from core import crawlers
from core.prefetch import refuses_prefetch

from . import services, sessions
from .tokens import BadClickToken

BAD_LINK = "This link is invalid."
PREFETCH_REFUSED = "Strip links are followed when clicked, not prefetched."


@require_GET
@never_cache  # a cached redirect would skip the log
@refuses_prefetch(PREFETCH_REFUSED)  # replayed on the click without asking: that click was lost
def click(request):
    """Log a click on a widget link, then send the shopper to the product's page."""
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
