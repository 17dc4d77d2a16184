from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from . import services, sessions
from .tokens import BadClickToken

BAD_LINK = "This link is invalid or has expired."


@require_GET
@never_cache  # a cached redirect would skip the log
def click(request):
    """Log a click on a widget link, then send the shopper to the product's page."""
    session_id = sessions.session_hash_if_any(session=request.session)
    try:
        sku = services.click_log(token=request.GET.get("t", ""), session_id=session_id)
    except BadClickToken:
        return HttpResponseBadRequest(BAD_LINK, content_type="text/plain; charset=utf-8")
    if sku is None:
        raise Http404("This product is no longer sold.")
    # The target is rebuilt from the logged row's product, so the link cannot redirect elsewhere.
    return redirect(reverse("storefront:product-detail", kwargs={"sku": sku}))
