"""The shopper as behaviour events see them: a stable visitor id, and the events of their views,
adds to basket and orders.

An anonymous shopper's visitor id is a random id kept in the session, never the session key:
the key is a credential (whoever holds it is the shopper), while the visitor id is only ever
sent, hashed, to the event store. A new session is a new visitor, as with any cookie-based shop.

A signed-in customer's visitor id is derived from their account, so their history follows them
across sessions and devices. On signing in, the session's anonymous events are merged into the
customer's (behaviour.services.visitor_merge says why merged, not linked) and the anonymous id
is forgotten; signing out starts a new anonymous visitor.

The A/B tests know the shopper by the same visitor (experiments.sessions): the impressions the
session logged as the anonymous visitor are merged with its events, and a customer's erasure
deletes the A/B log of every session they browsed in, signed out since or not.
"""

import uuid
from dataclasses import dataclass

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from behaviour.models import Event
from behaviour.services.storefront import storefront_events_record
from behaviour.services.visitor_merge import visitor_events_merge
from behaviour.services.visitors import visitor_erase
from behaviour.visitors import RESERVED_PREFIX, ReservedVisitorId
from catalog.models import Product
from core import crawlers
from experiments import sessions as experiment_sessions

from . import basket_state, devices, history, placed_orders
from .basket_lines import Basket
from .basket_state import BasketError

VISITOR_KEY = "visitor_id"
ERASED_ACCOUNT = "user #{pk} (erased)"  # what the admin's history calls a deleted customer


@dataclass(frozen=True)
class PlacedOrder:
    order_id: str
    basket: Basket


def customer_visitor_id(pk: int) -> str:
    """A signed-in customer's visitor id, in the namespace behaviour.visitors reserves for them:
    no id a partner sends (events API, CSV import) can be one."""
    return ReservedVisitorId(f"{RESERVED_PREFIX}{pk}")


def visitor_id(request) -> str:
    """The shopper's visitor id: a signed-in customer's own, else this session's, created on
    first need."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        customer = customer_visitor_id(user.pk)
        # Merged at sign-in already (apps: user_logged_in, any door); this catches a session
        # signed in before that was so.
        if anonymous := request.session.pop(VISITOR_KEY, None):
            visitor_events_merge(from_visitor_id=anonymous, into_visitor_id=customer)
            experiment_sessions.shopper_merge(
                session=request.session, from_visitor_id=anonymous, into_visitor_id=customer
            )
        return customer
    if not request.session.get(VISITOR_KEY):
        request.session[VISITOR_KEY] = uuid.uuid4().hex
    return request.session[VISITOR_KEY]


def anonymous_events_merge(request) -> None:
    """Right after signing in: this session's anonymous events become the customer's now, not on
    the first page that asks for the visitor id, which the next page (the basket, signing out)
    may never do; the anonymous id would then be orphaned, neither exported nor erased."""
    visitor_id(request)


def known_visitor_id(request) -> str | None:
    """The shopper's visitor id if they have one; unlike visitor_id, never creates one."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return visitor_id(request)
    return request.session.get(VISITOR_KEY) or None


def visitor_forget(request) -> int:
    """Erase every event recorded about this shopper (the count erased), their A/B log and what
    the session remembers of their browsing: its recently viewed list. An anonymous shopper
    continues as a new visitor (in the experiments too), the session gets a new key, so what is
    logged from now on is not linked to anything before; the basket stays, it is not history but
    what they mean to buy. A signed-in customer's other sessions (other devices) are ended: the
    erasure is of the customer, not of one device's cookie."""
    erased = 0
    if (visitor := known_visitor_id(request)) is not None:
        erased = visitor_erase(visitor_id=visitor)
    request.session.pop(VISITOR_KEY, None)  # erased just now, not again by _session_forget
    erased += _sessions_end(devices.other_sessions(request))
    erased += _session_forget(request.session)
    request.session.cycle_key()
    return erased


def customer_sessions_note(user) -> None:
    """Before an account's deletion (pre_delete): note the sessions signed in as it, for
    customer_forget. Listing them decodes every live session; the erasure takes the lock every
    event write takes (a product page's view) and holds it to the deletion's commit, so the
    listing of every account a bulk deletion removes is done before the first erasure."""
    user._storefront_sessions = devices.user_sessions(user)


def customer_forget(user) -> int:
    """A customer account is being deleted: its deletion is the customer's erasure (nobody can
    sign in to ask for one afterwards). Their events are erased, every session signed in as
    them ends with what it remembers, and the admin's history stops naming them; the count of
    events erased."""
    sessions = getattr(user, "_storefront_sessions", None)
    if sessions is None:
        sessions = devices.user_sessions(user)
    erased = visitor_erase(visitor_id=customer_visitor_id(user.pk))
    _admin_history_unname(user)
    return erased + _sessions_end(sessions)


def _admin_history_unname(user) -> None:
    """The admin's history (django_admin_log) keeps an account's name, often an e-mail address,
    as each entry's object_repr. The admin writes its deletion entry before deleting
    (ModelAdmin.log_deletions), so that one is rewritten here too."""
    LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(user), object_id=str(user.pk)
    ).update(object_repr=ERASED_ACCOUNT.format(pk=user.pk))


def _sessions_end(sessions) -> int:
    """Forget what each of these sessions remembers and delete it (signs that device out);
    the count of events erased."""
    erased = 0
    for session in sessions:
        erased += _session_forget(session)
        session.delete()
    return erased


def _session_forget(session) -> int:
    """Forget what one session remembers of its shopper; the count of events erased: those of
    an anonymous visitor id it still holds (one signed in before every sign-in merged it at
    once may)."""
    erased = 0
    if anonymous := session.pop(VISITOR_KEY, None):
        erased = visitor_erase(visitor_id=anonymous)
    history.history_clear(session)
    placed_orders.order_forget(session)
    experiment_sessions.session_forget(session=session)
    return erased


def _record(request, **event) -> None:
    # A crawler's fetches and form posts are not a shopper's interest (they would feed also
    # viewed, bought together and the sequence model) and start no visitor.
    if crawlers.is_crawler(request):
        return
    # Dated when the session's visitor id is read: an erasure from another tab between that read
    # and the write then refuses them; under the id it forgot, no session could reach them.
    read_at = timezone.now()
    storefront_events_record(visitor_id=visitor_id(request), occurred_at=read_at, **event)


def view_record(request, *, product: Product) -> None:
    """A product page view: one event (none for a crawler, as every event: _record)."""
    _record(request, kind=Event.Kind.VIEW, lines=[(product.sku, None, None)])


def add_record(request, *, product: Product, quantity: int) -> None:
    _record(request, kind=Event.Kind.ADD_TO_CART, lines=[(product.sku, quantity, product.price)])


def order_place(request) -> PlacedOrder:
    """Place the basket's order without payment: one purchase event per line (products still for
    sale), all under a fresh order id; then empty the basket. BasketError when nothing to order
    or when a line's product sold out since it was added (the shopper removes it first)."""
    basket = basket_state.basket_read(request.session)
    if not basket.lines:
        raise BasketError(basket_state.ERROR_EMPTY, dropped=basket.unavailable)
    if basket.sold_out:
        titles = ", ".join(line.product.title for line in basket.sold_out)
        it = "it" if len(basket.sold_out) == 1 else "them"
        message = basket_state.ERROR_SOLD_OUT_IN_BASKET.format(it=it, titles=titles)
        raise BasketError(message, dropped=basket.unavailable)
    order_id = uuid.uuid4().hex
    _record(
        request,
        kind=Event.Kind.PURCHASE,
        lines=[(line.product.sku, line.quantity, line.product.price) for line in basket.lines],
        order_id=order_id,
    )
    basket_state.basket_clear(request.session)
    return PlacedOrder(order_id=order_id, basket=basket)
