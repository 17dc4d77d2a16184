"""What a read of the basket gives: its lines with their products, totals per currency, and what
the shopper is told of lines dropped as their product is no longer for sale (basket_state)."""

from dataclasses import dataclass, field
from decimal import Decimal

from catalog.models import Product


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
    unavailable: int = 0  # lines dropped as their product is no longer for sale

    @property
    def dropped_notice(self) -> str:
        return dropped_notice(self.unavailable)

    @property
    def sold_out(self) -> list[BasketLine]:
        """Lines whose product sold out since it was added: kept, shown, but never ordered."""
        return [line for line in self.lines if not line.product.in_stock]

    @property
    def item_count(self) -> int:  # the nav link's number
        return sum(line.quantity for line in self.lines)

    @property
    def totals(self) -> list[tuple[str, Decimal]]:
        """(currency, amount) per currency in the basket: amounts in two currencies never add."""
        sums: dict[str, Decimal] = {}
        for line in self.lines:
            currency = line.product.currency
            sums[currency] = sums.get(currency, Decimal("0")) + line.total
        return list(sums.items())


def dropped_notice(count: int) -> str:  # what the shopper is told ("" for none)
    products = "1 product" if count == 1 else f"{count} products"
    verb = "is" if count == 1 else "are"
    return f"{products} in your basket {verb} no longer for sale: removed." if count else ""
