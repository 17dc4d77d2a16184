"""Experiment writes: starting and stopping A/B tests, logging impressions and clicks."""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from behaviour.models import SequenceModelVersion
from behaviour.services import erasure_guard
from catalog.models import Product
from catalog.selectors import product_skus_by_id
from core.tasks import enqueue_on_commit
from similarity.models import ModelVersion
from similarity.services.versions import MISSING_IMAGES_TASK

from .models import VARIANT_NOT_FOR_WIDGET, WIDGET_VARIANTS, Click, Experiment, Impression
from .retention import impressions_cutoff
from .selectors import Assignment, Shopper
from .tokens import LINK_MAX_AGE_S, BadClickToken, click_token, click_token_read

ANOTHER_RUNNING = "Another experiment is running on this widget; stop it first."
CANDIDATE_NOT_READY = "The candidate must be a ready (trained, not active) version."
ALREADY_RUNNING = "This experiment is already running."
ALREADY_RAN = "This experiment has already run; create a new one to test again."
NOT_RUNNING = "This experiment is not running."
REPEATS_ALREADY_OFF = (
    "Recommendations already leave out what a shopper bought (PRODSIM_RECOMMEND_REPEATS is off): "
    "both arms would see the same strip."
)


class ExperimentStateError(Exception):
    """A start or stop that the experiment's state does not allow; the message is for the admin."""


def experiment_start(*, experiment: Experiment) -> Experiment:
    """Start splitting sessions. One experiment runs per widget at a time (a DB constraint)."""
    if experiment.started_at is not None:
        raise ExperimentStateError(ALREADY_RUNNING if experiment.active else ALREADY_RAN)
    if experiment.variant not in WIDGET_VARIANTS.get(experiment.widget, ()):
        raise ExperimentStateError(VARIANT_NOT_FOR_WIDGET)
    if not _candidate_ready(experiment):
        raise ExperimentStateError(CANDIDATE_NOT_READY)
    if _same_as_control(experiment):
        raise ExperimentStateError(REPEATS_ALREADY_OFF)
    experiment.active, experiment.started_at = True, timezone.now()
    try:
        with transaction.atomic():
            experiment.save(update_fields=["active", "started_at"])
            if experiment.variant == Experiment.Variant.MODEL_VERSION:
                # What was imported or re-photographed while it sat ready, as an activation
                # embeds it (catalogue_changes keeps it up to date from now on).
                enqueue_on_commit(MISSING_IMAGES_TASK, experiment.candidate_id, True)
    except IntegrityError:
        experiment.active, experiment.started_at = False, None
        raise ExperimentStateError(ANOTHER_RUNNING)
    return experiment


def _candidate_ready(experiment: Experiment) -> bool:
    if experiment.variant == Experiment.Variant.MODEL_VERSION:
        version = experiment.candidate
        return version is not None and version.status == ModelVersion.Status.READY
    if experiment.variant == Experiment.Variant.SEQUENCE_VERSION:
        version = experiment.sequence_candidate
        return version is not None and version.status == SequenceModelVersion.Status.READY
    return True


def _same_as_control(experiment: Experiment) -> bool:
    """Whether the candidate arm would be served exactly as the control (an A/A test that would
    read as evidence about a change nobody saw)."""
    without_repeats = experiment.variant == Experiment.Variant.WITHOUT_REPEATS
    return without_repeats and not settings.PRODSIM_RECOMMEND_REPEATS


def experiment_stop(*, experiment: Experiment) -> Experiment:
    """Stop splitting: every session sees the active version again; the results stay."""
    if not experiment.active:
        raise ExperimentStateError(NOT_RUNNING)
    experiment.active, experiment.ended_at = False, timezone.now()
    experiment.save(update_fields=["active", "ended_at"])
    return experiment


@dataclass(frozen=True)
class WidgetItems:
    """A widget as rendered: its items (SimilarItem or Product) in display order."""

    widget: str  # an Impression.Widget value
    items: list
    version: ModelVersion | None  # the version that produced the list, if a model did


@dataclass(frozen=True)
class ShownItem:
    """What a widget's template renders: the product, its tracked link and the explanation."""

    product: Product
    click_url: str
    score: float | None = None
    breakdown: object | None = None
    why: str = ""  # a behaviour list's hint ("Bought together in 37 orders in the last 90 days")


def impressions_log(
    *,
    shopper: Shopper | None,
    assignment: Assignment,
    source: Product | None,
    widgets: list[WidgetItems],
) -> dict[str, list[ShownItem]]:
    """Log every shown item in one INSERT; return each widget's items with click links.

    Nothing is logged, and the items link plainly to their products, for no shopper (a crawler)
    or one erased at or after the moment the page read their visitor id (an erasure in another
    tab): as their events (erasure_guard), under the id the session forgot nobody could reach
    them. The erasure's lock, taken shared, makes the write either commit before the erasure
    (which then deletes it) or see its tombstone; a product page holds it already for its view.
    """
    with transaction.atomic():
        if shopper is None or _erased_since_read(shopper):
            return _shown_unlogged(widgets)
        now = timezone.now()
        rows = [
            Impression(
                widget=widget.widget,
                source_product=source,
                shown_product=_product_of(item),
                position=position,
                model_version=widget.version,
                experiment=assignment.for_widget(widget.widget)[0],
                arm=assignment.for_widget(widget.widget)[1],
                session_hash=shopper.hash,
                created_at=now,
            )
            for widget in widgets
            for position, item in enumerate(widget.items, start=1)
        ]
        Impression.objects.bulk_create(rows)  # PostgreSQL returns the ids the tokens need
    rows_left = iter(rows)
    return {
        widget.widget: [_shown(item, _click_url(next(rows_left))) for item in widget.items]
        for widget in widgets
    }


def _erased_since_read(shopper: Shopper) -> bool:
    erasure_guard.writes_lock()
    erased_at = erasure_guard.erased_since([shopper.hash]).get(shopper.hash)
    return erasure_guard.predates_erasure(shopper.read_at, erased_at)


def _shown_unlogged(widgets: list[WidgetItems]) -> dict[str, list[ShownItem]]:
    """The widgets' items with no click link: the strip links to the products themselves."""
    return {widget.widget: [_shown(item, "") for item in widget.items] for widget in widgets}


def _shown(item, click_url: str) -> ShownItem:
    return ShownItem(
        product=_product_of(item),
        click_url=click_url,
        score=getattr(item, "score", None),
        breakdown=getattr(item, "breakdown", None),
        why=_why(item),
    )


def _why(item) -> str:
    """A behaviour list's hint, or a similar item's that no similarity chose (pinned, category
    fill: their breakdown is empty); "" where the breakdown says why."""
    return getattr(item, "why", "")


def _product_of(item) -> Product:
    return item if isinstance(item, Product) else item.product


def _click_url(impression: Impression) -> str:
    token = click_token(impression_id=impression.pk, product_id=impression.shown_product_id)
    return reverse("experiments:click") + "?" + urlencode({"t": token})


@transaction.atomic
def click_log(*, token: str, session_id: str, counted: bool = True) -> str | None:
    """Record one click on the impression the token names (unless not `counted`: a crawler's
    fetch); return the SKU of the product to show (of a product deleted since, the SKU it had,
    whose page says so; None once even that is forgotten).

    A link whose impression is gone (the shopper's erasure, retention) still leads to the
    product the token names, and counts nothing: there is no row left to count it against.
    A write like an impression's (erasure_guard): an erasure in flight commits first, and its
    impressions are then gone, or waits for this click and deletes it with them; a clicking
    session whose visitor was erased (a tab left open) counts under no one.
    A link older than LINK_MAX_AGE_S leads to its product too, counting nothing. Raises
    tokens.BadClickToken for forged tokens, and for a link minted before tokens named their
    product once its impression is gone or it has expired.
    """
    link = click_token_read(token=token)
    if link.expired:  # leads on, counts nothing; one minted before tokens named the product
        shown = link.product_id  # finds it through its impression while that is kept
        if shown is None:
            impression = Impression.objects.filter(pk=link.impression_id).first()
            shown = impression.shown_product_id if impression is not None else None
        if shown is None:
            raise BadClickToken("expired")
        return product_skus_by_id(ids=[shown]).get(shown)
    if counted:
        erasure_guard.writes_lock()
    impression = Impression.objects.filter(pk=link.impression_id).first()
    if impression is not None:
        if counted:
            clicker = "" if erasure_guard.erased_since([session_id]) else session_id
            Click.objects.create(impression=impression, session_hash=clicker)
        shown = impression.shown_product_id
    elif link.product_id is not None:
        shown = link.product_id
    else:
        raise BadClickToken("no such impression")
    return product_skus_by_id(ids=[shown]).get(shown)


RETENTION_BATCH = 10_000  # impressions per delete: bounded memory and lock time on the first run


def impressions_retention_enforce(*, now: dt.datetime | None = None) -> int:
    """Delete impressions (and their clicks) older than PRODSIM_EVENT_RETENTION_DAYS, the
    shoppers' events' limit: each names a session hash and what that session was shown. The
    number of impressions deleted; an experiment's figures then count the period kept."""
    expired = Impression.objects.filter(created_at__lt=impressions_cutoff(now)).order_by("pk")
    deleted = 0
    while ids := list(expired.values_list("pk", flat=True)[:RETENTION_BATCH]):
        with transaction.atomic():
            Click.objects.filter(impression_id__in=ids).delete()
            deleted += Impression.objects.filter(pk__in=ids).delete()[0]
    return deleted


@transaction.atomic
def shopper_log_erase(*, shopper_hashes: list[str]) -> int:
    """Delete the impressions logged under any of `shopper_hashes` and the clicks the shopper
    made (the shopper's erasure: what selectors.shopper_log exports); the number of impressions
    erased. They leave the experiments' figures, which then count the impressions kept. "" is
    never one: that is every click of a session that had logged nothing.

    Another shopper's click on one of their impressions (a link passed on) is that shopper's,
    and a click cannot outlive its impression: such an impression stays, its hash blanked, so
    it names nobody and stays counted with the click."""
    hashes = [shopper for shopper in shopper_hashes if shopper]
    if not hashes:
        return 0
    # Separate statements, not one OR: each then reads an index (it runs under the erasure's
    # lock, which holds every event write up).
    Click.objects.filter(session_hash__in=hashes).delete()
    Click.objects.filter(session_hash="", impression__session_hash__in=hashes).delete()
    theirs = Impression.objects.filter(session_hash__in=hashes)
    clicked = Click.objects.filter(impression=OuterRef("pk"))
    unlinked = theirs.filter(Exists(clicked)).update(session_hash="")
    return unlinked + theirs.delete()[1].get(Impression._meta.label, 0)


@transaction.atomic
def shopper_log_merge(*, from_hash: str, into_hash: str, since: dt.datetime) -> int:
    """Move what a session logged as an anonymous visitor since `since` (its first page as that
    visitor) to the customer it signed in as, impressions and the clicks it made, as its events
    are merged (behaviour.services.visitor_merge); the count of impressions moved. Each keeps
    its experiment and arm, so the figures do not change. `since` keeps the scan to the
    created_at index: impressions are never looked up by hash on a page.

    A write like any (erasure_guard): an erasure of either visitor waits for it; of an erased
    anonymous visitor, nothing from before its erasure moves."""
    erasure_guard.writes_lock()
    impressions = Impression.objects.filter(session_hash=from_hash, created_at__gte=since)
    # A click comes after its session's first page, on a link at most LINK_MAX_AGE_S old.
    link_since = since - dt.timedelta(seconds=LINK_MAX_AGE_S)
    clicks = Click.objects.filter(session_hash=from_hash, impression__created_at__gte=link_since)
    if erased_at := erasure_guard.erased_since([from_hash]).get(from_hash):
        impressions = impressions.exclude(created_at__lte=erased_at)  # predates_erasure
        clicks = clicks.exclude(created_at__lte=erased_at)
    clicks.update(session_hash=into_hash)
    return impressions.update(session_hash=into_hash)
