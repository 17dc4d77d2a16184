"""Partial product updates over the API: `PATCH /products/{sku}/` for one product and
`PATCH /products/` for up to MAX_PATCHES at once (a stock and price feed). The body names only
the fields that change; a field prodsim does not know is a 400 naming it rather than a change
silently dropped (a feed sending `stock` instead of `in_stock` must hear of it)."""

import logging
from collections.abc import Mapping

from django.db import DataError, IntegrityError
from rest_framework.exceptions import ValidationError

from .. import selectors
from ..services.patches import PATCHABLE, PatchBatch, ProductNotFound
from .serializers import ProductInputSerializer

logger = logging.getLogger(__name__)

MAX_PATCHES = 1000  # per request: a feed's page, well inside the request body limit
ERROR_UNKNOWN_FIELD = "not a field a patch can change; these can: {fields}"
ERROR_NOT_AN_OBJECT = "a patch is a JSON object of the fields to change"
ERROR_NO_PRODUCT = "no product with this SKU (a patch changes a product; PUT creates one)"
ERROR_SKU_REPEATED = "the same product as entry {index}: patch it once per request"
ERROR_REFUSED = "the database refused a value of this patch; nothing of it was written"


def patch_values(body) -> dict:
    """The validated values of one patch body (API field names, only those given), or a
    ValidationError with each field's problem."""
    if not isinstance(body, Mapping):
        raise ValidationError({"non_field_errors": [ERROR_NOT_AN_OBJECT]})
    unknown = [name for name in body if name not in PATCHABLE]
    if unknown:
        message = ERROR_UNKNOWN_FIELD.format(fields=", ".join(PATCHABLE))
        raise ValidationError({name: [message] for name in unknown})
    data = ProductInputSerializer(data=dict(body), partial=True)
    data.is_valid(raise_exception=True)
    # validate() fills the default currency in: a patch keeps the product's own unless given.
    return {name: value for name, value in data.validated_data.items() if name in body}


def batch_patch(body) -> dict:
    """Apply every valid patch of a batch body; the answer says what became of each, in order.
    A failed patch writes nothing and keeps no other from being written."""
    entries = _entries(body)
    stored = _stored_skus(entries)
    batch, outcomes, first_index = PatchBatch(), [], {}
    try:
        for index, entry in enumerate(entries):
            outcomes.append(_outcome(batch, index, entry, stored, first_index))
    finally:
        batch.announce()  # what committed, even when an unexpected error ends the batch
    counts = {status: 0 for status in ("updated", "unchanged", "failed")}
    for outcome in outcomes:
        counts[outcome["status"]] += 1
    return {"products": outcomes, **counts}


def _entries(body) -> list:
    entries = body.get("products") if isinstance(body, Mapping) else None
    if not isinstance(entries, list) or not 1 <= len(entries) <= MAX_PATCHES:
        raise ValidationError(
            {"products": [f"a list of 1 to {MAX_PATCHES} patches, each with its `sku`"]}
        )
    if unknown := [name for name in body if name != "products"]:
        raise ValidationError({name: ["not part of a batch: only `products`"] for name in unknown})
    return entries


def _stored_skus(entries: list) -> dict[str, str]:
    """Each entry's SKU as given → as stored (exact spelling, else NFC), for the products that
    exist: two queries for the whole batch instead of one per entry."""
    given = [e["sku"] for e in entries if isinstance(e, Mapping) and isinstance(e.get("sku"), str)]
    ids = selectors.product_ids_by_sku(skus=given)
    skus = selectors.product_skus_by_id(ids=ids.values())
    return {sku: skus[product_id] for sku, product_id in ids.items()}


def _outcome(batch: PatchBatch, index: int, entry, stored_skus: dict, first_index: dict) -> dict:
    if not isinstance(entry, Mapping):
        return _failed("", {"non_field_errors": [ERROR_NOT_AN_OBJECT]})
    sku = entry.get("sku")
    if not isinstance(sku, str) or not sku:
        message = "required" if sku in (None, "") else "must be a string"
        return _failed("", {"sku": [f"the SKU of the product to change {message}"]})
    stored = stored_skus.get(sku)
    if stored is None:
        return _failed(sku, {"sku": [ERROR_NO_PRODUCT]})
    if stored in first_index:
        return _failed(sku, {"sku": [ERROR_SKU_REPEATED.format(index=first_index[stored])]})
    first_index[stored] = index
    try:
        values = patch_values({name: value for name, value in entry.items() if name != "sku"})
        result = batch.apply(sku=stored, values=values)
    except ValidationError as exc:
        return _failed(sku, _messages(exc.detail))
    except ProductNotFound:  # deleted since the lookup
        return _failed(sku, {"sku": [ERROR_NO_PRODUCT]})
    except (DataError, IntegrityError):
        # A value validation let through and PostgreSQL refused: this patch alone rolled back,
        # and the feed is told which one, rather than every resend stopping at it with a 500.
        logger.exception("batch patch %s refused by the database", index)
        return _failed(sku, {"non_field_errors": [ERROR_REFUSED]})
    return {"sku": sku, "status": "unchanged" if result.outcome == "unchanged" else "updated"}


def _failed(sku: str, errors: dict) -> dict:
    return {"sku": sku, "status": "failed", "errors": errors}


def _messages(detail) -> dict[str, list[str]]:
    """DRF's error detail as field → flat messages (a nested field's under its own name)."""
    if not isinstance(detail, Mapping):
        return {"non_field_errors": [str(message) for message in detail]}
    return {str(name): [str(m) for m in _flat(problems)] for name, problems in detail.items()}


def _flat(problems):
    if isinstance(problems, Mapping):
        for key, nested in problems.items():
            yield from (f"{key}: {message}" for message in _flat(nested))
    elif isinstance(problems, list):
        for problem in problems:
            yield from _flat(problem)
    else:
        yield problems
