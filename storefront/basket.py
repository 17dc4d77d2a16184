"""The basket pages: add (from a product page), the basket, remove, and a checkout that places an
order without payment, then shows it. Changes are POSTs (with CSRF) that redirect; refusals come
back as messages on the page they redirect to."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from core.session_turns import session_turns

from . import basket_state, placed_orders, shopper
from .basket_lines import dropped_notice
from .basket_state import BasketError

ADDED = "Added {quantity} × {title} to your basket."
REMOVED = "Removed {sku} from your basket."


@require_POST
@session_turns
def basket_add(request, sku: str):
    try:
        product, quantity, dropped = basket_state.basket_add(
            request.session, sku=sku, quantity=request.POST.get("quantity")
        )
    except BasketError as exc:
        _refused(request, exc)
        return redirect("storefront:basket")
    shopper.add_record(request, product=product, quantity=quantity)
    if dropped:
        messages.info(request, dropped_notice(dropped))
    messages.success(request, ADDED.format(quantity=quantity, title=product.title))
    return redirect("storefront:basket")


@require_GET
@session_turns  # drops the lines of withdrawn products
def basket_detail(request):
    basket = basket_state.basket_read(request.session)
    # The nav link's count from the lines just read (the context processor would read them again).
    context = {"basket": basket, "basket_count": basket.item_count}
    return render(request, "storefront/basket.html", context)


@require_POST
@session_turns
def basket_remove(request, sku: str):
    try:
        basket_state.basket_remove(request.session, sku=sku)
    except BasketError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, REMOVED.format(sku=sku))
    return redirect("storefront:basket")


@require_POST
@session_turns
def checkout(request):
    try:
        order = shopper.order_place(request)
    except BasketError as exc:
        if not exc.dropped and placed_orders.just_placed(request.session):
            return redirect("storefront:order-placed")  # "Place order" clicked twice
        _refused(request, exc)
        return redirect("storefront:basket")
    placed_orders.order_remembered(request.session, order_id=order.order_id, basket=order.basket)
    return redirect("storefront:order-placed")


@require_GET
def order_placed(request):
    if (order := placed_orders.last_order(request.session)) is None:
        return redirect("storefront:basket")
    return render(request, "storefront/order_placed.html", {"order": order})


def _refused(request, exc: BasketError) -> None:
    if exc.dropped:  # the refused change still dropped them: the basket page will not say so
        messages.info(request, dropped_notice(exc.dropped))
    messages.error(request, str(exc))
