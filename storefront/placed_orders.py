"""The order a shopper has just placed, kept in their session so that its page is a GET: a
reload, the way back from the sign-in link and a second click of "Place order" show the order
again instead of a 405 or "your basket is empty"."""

import time

from .basket_lines import Basket

SESSION_KEY = "last_order"
# A "Place order" clicked again this soon after an order is the same click, not a new order.
REPEAT_CLICK_S = 60


def order_remembered(session, *, order_id: str, basket: Basket) -> None:
    """Keep what the order page shows (JSON, as the session stores it)."""
    session[SESSION_KEY] = {
        "order_id": order_id,
        "placed_at": time.time(),
        "dropped_notice": basket.dropped_notice,
        "lines": [
            {
                "sku": line.product.sku,
                "title": line.product.title,
                "url": line.product.get_absolute_url(),
                "quantity": line.quantity,
                "total": str(line.total),
                "currency": line.product.currency,
            }
            for line in basket.lines
        ],
        "totals": [(currency, str(amount)) for currency, amount in basket.totals],
    }


def last_order(session) -> dict | None:
    return session.get(SESSION_KEY)


def just_placed(session) -> bool:
    order = last_order(session)
    return order is not None and time.time() - order["placed_at"] < REPEAT_CLICK_S


def order_forget(session) -> None:  # an erasure: the order is the shopper's history too
    session.pop(SESSION_KEY, None)
