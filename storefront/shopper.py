"""The shopper as behaviour events see them: a stable visitor id per session, and the events of
their views, adds to basket and orders.

The visitor id is a random id kept in the session, never the session key: the key is a
credential (whoever holds it is the shopper), while the visitor id is only ever sent, hashed, to
the event store. A new session is a new visitor, as with any cookie-based shop.
"""

import uuid
from dataclasses import dataclass

from behaviour.models import Event
from behaviour.services.storefront import storefront_events_record
from catalog.models import Product

from . import basket_state
from .basket_state import Basket, BasketError

VISITOR_KEY = "visitor_id"


@dataclass(frozen=True)
class PlacedOrder:
    order_id: str
    basket: Basket


def visitor_id(session) -> str:
    """This session's visitor id, created on first need."""
    if not session.get(VISITOR_KEY):
        session[VISITOR_KEY] = uuid.uuid4().hex
    return session[VISITOR_KEY]


def view_record(session, *, product: Product) -> None:
    """A product page view: one event."""
    storefront_events_record(
        visitor_id=visitor_id(session), kind=Event.Kind.VIEW, lines=[(product.sku, None, None)]
    )


def add_record(session, *, product: Product, quantity: int) -> None:
    storefront_events_record(
        visitor_id=visitor_id(session),
        kind=Event.Kind.ADD_TO_CART,
        lines=[(product.sku, quantity, product.price)],
    )


def order_place(session) -> PlacedOrder:
    """Place the basket's order without payment: one purchase event per line (products still for
    sale), all under a fresh order id; then empty the basket. BasketError when nothing to order."""
    basket = basket_state.basket_read(session)
    if not basket.lines:
        raise BasketError(basket_state.ERROR_EMPTY)
    order_id = uuid.uuid4().hex
    storefront_events_record(
        visitor_id=visitor_id(session),
        kind=Event.Kind.PURCHASE,
        lines=[(line.product.sku, line.quantity, line.product.price) for line in basket.lines],
        order_id=order_id,
    )
    basket_state.basket_clear(session)
    return PlacedOrder(order_id=order_id, basket=basket)
