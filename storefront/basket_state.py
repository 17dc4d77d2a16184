"""The shopper's basket, kept in the session as {sku: quantity} (no account needed).

Every change is checked first and refused whole with a message constant (BasketError): a bad
request never leaves the basket half-changed.
"""

import re

from catalog import selectors as catalog_selectors
from catalog.models import Product
from catalog.skus import sku_normalised

from .basket_lines import Basket, BasketLine

SESSION_KEY = "basket"
MAX_QUANTITY = 99  # per line: a shop's usual cap, and it keeps a typo from ordering 1000
MAX_LINES = 50  # distinct products: bounds the session's size

ERROR_NOT_FOR_SALE = "Sorry, {sku} is not for sale."
ERROR_OUT_OF_STOCK = "Sorry, {title} is out of stock."
ERROR_SOLD_OUT_IN_BASKET = "Out of stock since you added {it}: {titles}. Remove {it} to order."
ERROR_QUANTITY = f"Choose a quantity from 1 to {MAX_QUANTITY}."
ERROR_LINE_FULL = f"Your basket can hold at most {MAX_QUANTITY} of one product."
ERROR_TOO_MANY_LINES = f"Your basket can hold at most {MAX_LINES} different products."
ERROR_NOT_IN_BASKET = "{sku} is not in your basket."
ERROR_EMPTY = "Your basket is empty."

_QUANTITY = re.compile(r"[0-9]{1,3}")  # ASCII digits only: int() would take "١٢" or " 1_0"


class BasketError(ValueError):
    """A change the basket refuses; the message is for the shopper. `dropped`: the lines of
    withdrawn products that left the basket on the way, of which they are told too."""

    def __init__(self, message: str, *, dropped: int = 0) -> None:
        super().__init__(message)
        self.dropped = dropped


def quantities(session) -> dict[str, int]:
    return dict(session.get(SESSION_KEY, {}))


def item_count(session) -> int:
    """How many items of products still for sale the basket holds (the nav link's number)."""
    return _read(session, with_images=False).item_count


def quantity_parse(text: str | None) -> int:
    """A form's quantity: 1 when left out, else a whole number from 1 to MAX_QUANTITY."""
    if text is None or text == "":
        return 1
    if not _QUANTITY.fullmatch(text) or not 1 <= int(text) <= MAX_QUANTITY:
        raise BasketError(ERROR_QUANTITY)
    return int(text)


def basket_add(session, *, sku: str, quantity: str | None) -> tuple[Product, int, int]:
    """Add `quantity` of the active product `sku`; return it, the quantity added and how many
    lines of products no longer for sale were dropped on the way (basket_read)."""
    product = catalog_selectors.product_get(sku=sku, with_images=False)
    if product is None:
        raise BasketError(ERROR_NOT_FOR_SALE.format(sku=sku))
    if not product.in_stock:
        raise BasketError(ERROR_OUT_OF_STOCK.format(title=product.title))
    count = quantity_parse(quantity)
    current = basket_read(session, with_images=False)
    # Keyed by the SKU as stored: a link's other spelling of it (NFD) is the same line.
    basket = {line.product.sku: line.quantity for line in current.lines}
    if product.sku not in basket and len(basket) >= MAX_LINES:
        raise BasketError(ERROR_TOO_MANY_LINES, dropped=current.unavailable)
    if basket.get(product.sku, 0) + count > MAX_QUANTITY:
        raise BasketError(ERROR_LINE_FULL, dropped=current.unavailable)
    basket[product.sku] = basket.get(product.sku, 0) + count
    session[SESSION_KEY] = basket
    return product, count, current.unavailable


def basket_remove(session, *, sku: str) -> None:
    basket = quantities(session)
    spelled = [key for key in basket if sku_normalised(key) == sku_normalised(sku)]
    if not spelled:
        raise BasketError(ERROR_NOT_IN_BASKET.format(sku=sku))
    for key in spelled:
        del basket[key]
    session[SESSION_KEY] = basket


def basket_clear(session) -> None:
    session.pop(SESSION_KEY, None)


def basket_read(session, *, with_images: bool = True) -> Basket:
    """The basket's lines with their products. Lines of products no longer for sale are dropped
    from the session (counted in `unavailable`, for the shopper to be told), so they neither
    count towards the nav link and MAX_LINES nor stay in a basket that cannot be emptied."""
    basket = _read(session, with_images=with_images)
    kept = {line.product.sku: line.quantity for line in basket.lines}
    if kept != quantities(session):
        session[SESSION_KEY] = kept
    return basket


def _read(session, *, with_images: bool) -> Basket:
    """The lines of products still for sale, one per product (a basket filled before its keys
    were the stored SKUs may spell one two ways), and how many keys named none. Two queries."""
    basket = quantities(session)
    if not basket:
        return Basket()
    ids = catalog_selectors.product_ids_by_sku(skus=list(basket))
    products = catalog_selectors.products_by_ids(ids=list(ids.values()), with_images=with_images)
    merged: dict[int, int] = {}
    for sku, quantity in basket.items():
        if ids.get(sku) in products:
            merged[ids[sku]] = min(merged.get(ids[sku], 0) + quantity, MAX_QUANTITY)
    lines = [BasketLine(products[pid], quantity) for pid, quantity in merged.items()]
    return Basket(lines, unavailable=sum(1 for sku in basket if ids.get(sku) not in products))
