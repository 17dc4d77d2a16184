from django.conf import settings

from . import basket_state


def shop(request):
    session = getattr(request, "session", None)
    return {
        "shop_name": settings.PRODSIM_SHOP_NAME,
        # Called only by a template that shows it (the storefront's nav), so the admin's pages
        # never read the basket.
        "basket_count": lambda: basket_state.item_count(session) if session is not None else 0,
    }
