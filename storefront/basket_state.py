"""The shopper's basket, kept in the session as {sku: quantity} (no account needed).

Every change is checked first and refused whole with a message constant (BasketError): a bad
request never leaves the basket half-changed.
"""

import re
from dataclasses import dataclass, field
from decimal import Decimal

from catalog import selectors as catalog_selectors
from catalog.models import Product

SESSION_KEY = "basket"
MAX_QUANTITY = 99  # per line: a shop's usual cap, and it keeps a typo from ordering 1000
MAX_LINES = 50  # distinct products: bounds the session's size

ERROR_NOT_FOR_SALE = "Sorry, {sku} is not for sale."
ERROR_QUANTITY = f"Choose a quantity from 1 to {MAX_QUANTITY}."
ERROR_LINE_FULL = f"Your basket can hold at most {MAX_QUANTITY} of one product."
ERROR_TOO_MANY_LINES = f"Your basket can hold at most {MAX_LINES} different products."
ERROR_NOT_IN_BASKET = "{sku} is not in your basket."
ERROR_EMPTY = "Your basket is empty."

_QUANTITY = re.compile(r"[0-9]{1,3}")  # ASCII digits only: int() would take "١٢" or " 1_0"


class BasketError(ValueError):
    """A change the basket refuses; the message is for the shopper."""


@dataclass(frozen=True)
class BasketLine:
    product: Product
    quantity: int

    @property
    def total(self) -> Decimal:
        return self.product.price * self.quantity


@dataclass(frozen=True)
class Basket:
    """The basket's lines of products still for sale, in the order they were added."""

    lines: list[BasketLine] = field(default_factory=list)
    unavailable: int = 0  # lines whose product is no longer for sale (left out of the order)

    @property
    def totals(self) -> list[tuple[str, Decimal]]:
        """(currency, amount) per currency in the basket: amounts in two currencies never add."""
        sums: dict[str, Decimal] = {}
        for line in self.lines:
            currency = line.product.currency
            sums[currency] = sums.get(currency, Decimal("0")) + line.total
        return list(sums.items())


def quantities(session) -> dict[str, int]:
    return dict(session.get(SESSION_KEY, {}))


def item_count(session) -> int:
    """How many items the basket holds (the nav link's number)."""
    return sum(quantities(session).values())


def quantity_parse(text: str | None) -> int:
    """A form's quantity: 1 when left out, else a whole number from 1 to MAX_QUANTITY."""
    if text is None or text == "":
        return 1
    if not _QUANTITY.fullmatch(text) or not 1 <= int(text) <= MAX_QUANTITY:
        raise BasketError(ERROR_QUANTITY)
    return int(text)


def basket_add(session, *, sku: str, quantity: str | None) -> tuple[Product, int]:
    """Add `quantity` of the active product `sku`; return it and the quantity added."""
    product = catalog_selectors.product_get(sku=sku, with_images=False)
    if product is None:
        raise BasketError(ERROR_NOT_FOR_SALE.format(sku=sku))
    count = quantity_parse(quantity)
    basket = quantities(session)
    if sku not in basket and len(basket) >= MAX_LINES:
        raise BasketError(ERROR_TOO_MANY_LINES)
    if basket.get(sku, 0) + count > MAX_QUANTITY:
        raise BasketError(ERROR_LINE_FULL)
    basket[sku] = basket.get(sku, 0) + count
    session[SESSION_KEY] = basket
    return product, count


def basket_remove(session, *, sku: str) -> None:
    basket = quantities(session)
    if sku not in basket:
        raise BasketError(ERROR_NOT_IN_BASKET.format(sku=sku))
    del basket[sku]
    session[SESSION_KEY] = basket


def basket_clear(session) -> None:
    session.pop(SESSION_KEY, None)


def basket_read(session) -> Basket:
    """The basket's lines with their products (two queries, whatever the number of lines)."""
    basket = quantities(session)
    if not basket:
        return Basket()
    ids = catalog_selectors.product_ids_by_sku(skus=list(basket))
    products = catalog_selectors.products_by_ids(ids=list(ids.values()))
    lines = [
        BasketLine(products[ids[sku]], quantity)
        for sku, quantity in basket.items()
        if ids.get(sku) in products
    ]
    return Basket(lines=lines, unavailable=len(basket) - len(lines))
