"""What the catalogue announces when products change, for the apps above it to act on.

Catalog sits below the apps that index its products, so it cannot call them. Instead its services
announce each change here, and every listening app subscribes once in its `AppConfig.ready`
(similarity refreshes vectors and drops cached lists; a withdrawal or a deletion drops every
cached list, since any of them may name the product, and a product selling out every cached
list of products in stock). Announcements are plain calls in the
announcing transaction: listeners that start background work enqueue it after commit.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class CatalogueListener:
    """One app's reactions; each receives keyword arguments only."""

    # A few products were written (admin, API, service): their ids, and whether images changed.
    products_changed: Callable[..., None]
    # One product is gone: its SKU (its id no longer exists).
    product_deleted: Callable[..., None]
    # A bulk import wrote these products (the catalogue as a whole moved).
    catalogue_changed: Callable[..., None]
    # These products were just withdrawn (active → inactive): any list naming them is stale.
    products_withdrawn: Callable[..., None]
    # These products just sold out (in stock → out): lists of products in stock are stale.
    products_sold_out: Callable[..., None]


_listeners: list[CatalogueListener] = []


def subscribe(listener: CatalogueListener) -> None:
    """Register an app's reactions (idempotent: `ready()` may run twice in tests)."""
    if listener not in _listeners:
        _listeners.append(listener)


def products_changed(*, product_ids: Sequence[int], images_changed: bool) -> None:
    for listener in _listeners:
        listener.products_changed(product_ids=list(product_ids), images_changed=images_changed)


def product_deleted(*, sku: str) -> None:
    for listener in _listeners:
        listener.product_deleted(sku=sku)


def products_withdrawn(*, product_ids: Sequence[int]) -> None:
    """Announced where the flip is written, never for an edit of a product already inactive: a
    partner re-syncing its inactive products must not make every cached list go each time."""
    for listener in _listeners:
        listener.products_withdrawn(product_ids=list(product_ids))


def products_sold_out(*, product_ids: Sequence[int]) -> None:
    """Announced where the flip is written, as a withdrawal is (a product already out of stock
    re-synced is none)."""
    for listener in _listeners:
        listener.products_sold_out(product_ids=list(product_ids))


def catalogue_changed(*, product_ids: Sequence[int]) -> None:
    for listener in _listeners:
        listener.catalogue_changed(product_ids=list(product_ids))
