"""The gold photo set: admins' own query photos with the SKU each should find, and every model
version scored on them through the same path visual search takes (LiteRT, no TensorFlow)."""

import hashlib
from dataclasses import asdict, dataclass, field

import numpy as np
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from catalog import selectors as catalog_selectors
from catalog.images import prepare_image

from .. import vector_store
from ..models import GoldPhoto, ModelVersion
from .gold_photo_vectors import query_vectors
from .model_files import MODEL_LOAD_ERRORS, model_files_problem, model_load_problem

GOLD_PHOTO_K = 10  # Recall@1 and @10, as the held-out figures
ERROR_UNKNOWN_SKU = "no product has the SKU {sku!r}"
ERROR_INACTIVE_SKU = "the product {sku!r} is inactive: visual search never shows it"
ERROR_DUPLICATE = "this photo is already in the gold set for SKU {sku!r}"


class GoldPhotoRejected(ValueError):
    """The upload cannot join the gold set (the message says why); nothing was stored."""


@dataclass(frozen=True)
class GoldPhotoMiss:
    photo_id: int
    expected_sku: str
    found_skus: list[str]  # the top 3 the version returned instead


@dataclass(frozen=True)
class GoldPhotoScore:
    """One version on the gold photos whose SKU is in the catalogue (`scored` of `photos`)."""

    version_id: int
    photos: int
    scored: int
    recall_at_1: float | None
    recall_at_10: float | None
    misses: list[GoldPhotoMiss] = field(default_factory=list)
    unscorable: str = ""  # why none could be scored when the version cannot embed photos


@dataclass(frozen=True)
class GoldPhotoUpload:
    """A photo that passed every check of the gold set, not stored yet."""

    image: bytes  # re-encoded
    sha256: str  # of `image`: the same pixels under other metadata are one photo
    expected_sku: str


def gold_photo_check(*, data: bytes, expected_sku: str) -> GoldPhotoUpload:
    """Everything gold_photo_add() checks, storing nothing (forms validate before they save).
    Raises InvalidImage for a bad image, GoldPhotoRejected for a SKU that is unknown or
    inactive, or a photo already filed under that SKU."""
    prepared = prepare_image(
        data,
        max_bytes=settings.PRODSIM_MAX_IMAGE_BYTES,
        max_pixels=settings.PRODSIM_MAX_IMAGE_PIXELS,
    )
    sha256 = hashlib.sha256(prepared.content).hexdigest()
    sku = gold_sku_check(expected_sku=expected_sku, sha256=sha256)
    return GoldPhotoUpload(prepared.content, sha256, sku)


def gold_sku_check(*, expected_sku: str, sha256: str, photo_id: int | None = None) -> str:
    """The product's SKU as stored (the stripped SKU, or its NFC form: catalog.skus) when it
    names an active product and no gold photo with this `sha256` other than `photo_id` is filed
    under it; else GoldPhotoRejected."""
    given = expected_sku.strip()
    sku = catalog_selectors.product_sku_stored(sku=given)
    if sku is None:
        raise GoldPhotoRejected(ERROR_UNKNOWN_SKU.format(sku=given))
    if sku not in _active_ids_by_sku([sku]):  # visual search never shows it: unscorable
        raise GoldPhotoRejected(ERROR_INACTIVE_SKU.format(sku=sku))
    taken = GoldPhoto.objects.filter(sha256=sha256, expected_sku=sku).exclude(pk=photo_id)
    if taken.exists():
        raise GoldPhotoRejected(ERROR_DUPLICATE.format(sku=sku))
    return sku


def gold_photo_add(*, data: bytes, expected_sku: str, note: str = "") -> GoldPhoto:
    """Validate the photo like a catalogue image and store it; raises as gold_photo_check()."""
    return gold_photo_store(gold_photo_check(data=data, expected_sku=expected_sku), note=note)


def gold_photo_store(upload: GoldPhotoUpload, *, note: str = "") -> GoldPhoto:
    """Store a checked photo; GoldPhotoRejected when the same photo was filed meanwhile."""
    try:
        with transaction.atomic():
            return GoldPhoto.objects.create(**asdict(upload), note=note)
    except IntegrityError as exc:
        raise GoldPhotoRejected(ERROR_DUPLICATE.format(sku=upload.expected_sku)) from exc


def gold_photos_score(*, version: ModelVersion) -> GoldPhotoScore:
    """Recall@1/@10 of the version's product ranking for each gold photo (query photos are
    embedded with flip averaging, as visual search does, and searched among active products,
    the only ones it shows). Photos whose SKU left the catalogue or was deactivated are counted
    in `photos` but not scored; a version whose model cannot load scores none (`unscorable`)."""
    photos = list(GoldPhoto.objects.defer("image").order_by("pk"))
    ids = _active_ids_by_sku(sorted({p.expected_sku for p in photos}))
    scorable = [photo for photo in photos if photo.expected_sku in ids]
    if not scorable or not version.artifact_dir:
        return GoldPhotoScore(version.pk, len(photos), 0, None, None)
    if reason := model_files_problem(version):
        return GoldPhotoScore(version.pk, len(photos), 0, None, None, unscorable=reason)
    try:
        vectors = query_vectors(version, scorable)
    except MODEL_LOAD_ERRORS as exc:  # files cut short or corrupt: this version only
        reason = model_load_problem(version, exc)
        return GoldPhotoScore(version.pk, len(photos), 0, None, None, unscorable=reason)
    ranks, misses = [], []
    active = _active_products()
    for photo, vector in zip(scorable, vectors, strict=True):
        neighbours = vector_store.nearest_products(
            version=version, vector=vector, k=GOLD_PHOTO_K, allowed=active
        )
        found = [n.product_id for n in neighbours]
        expected = ids[photo.expected_sku]
        ranks.append(found.index(expected) if expected in found else GOLD_PHOTO_K)
        if ranks[-1] != 0:
            misses.append(GoldPhotoMiss(photo.pk, photo.expected_sku, _skus(found[:3])))
    ranks_array = np.array(ranks)
    recalls = float(np.mean(ranks_array < 1)), float(np.mean(ranks_array < GOLD_PHOTO_K))
    return GoldPhotoScore(version.pk, len(photos), len(scorable), *recalls, misses)


def _skus(product_ids: list[int]) -> list[str]:
    products = catalog_selectors.products_by_ids(ids=product_ids, with_images=False)
    return [products[pid].sku if pid in products else "?" for pid in product_ids]


def _active_products() -> QuerySet:
    return catalog_selectors.products_matching(product_filter=catalog_selectors.ProductFilter())


def _active_ids_by_sku(skus: list[str]) -> dict[str, int]:
    return dict(_active_products().filter(sku__in=skus).values_list("sku", "pk"))
