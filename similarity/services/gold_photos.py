"""The gold photo set: admins' own query photos with the SKU each should find, and every model
version scored on them through the same path visual search takes (LiteRT, no TensorFlow)."""

import hashlib
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.db import IntegrityError, transaction

from catalog import selectors as catalog_selectors
from catalog.images import prepare_image

from .. import vector_store
from ..ml.embedder import get_embedder
from ..ml.preprocessing import load_image
from ..ml.tta import flip_averaged
from ..models import GoldPhoto, ModelVersion

GOLD_PHOTO_K = 10  # Recall@1 and @10, as the held-out figures
ERROR_UNKNOWN_SKU = "no product has the SKU {sku!r}"
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


def gold_photo_add(*, data: bytes, expected_sku: str, note: str = "") -> GoldPhoto:
    """Validate the photo like a catalogue image and store it. Raises InvalidImage for a bad
    image, GoldPhotoRejected for an unknown SKU or a photo already filed under that SKU."""
    sku = expected_sku.strip()
    if not catalog_selectors.product_ids_by_sku(skus=[sku]):
        raise GoldPhotoRejected(ERROR_UNKNOWN_SKU.format(sku=sku))
    prepared = prepare_image(
        data,
        max_bytes=settings.PRODSIM_MAX_IMAGE_BYTES,
        max_pixels=settings.PRODSIM_MAX_IMAGE_PIXELS,
    )
    try:
        with transaction.atomic():
            return GoldPhoto.objects.create(
                image=prepared.content,
                sha256=hashlib.sha256(data).hexdigest(),
                expected_sku=sku,
                note=note,
            )
    except IntegrityError as exc:
        raise GoldPhotoRejected(ERROR_DUPLICATE.format(sku=sku)) from exc


def gold_photos_score(*, version: ModelVersion) -> GoldPhotoScore:
    """Recall@1/@10 of the version's product ranking for each gold photo (query photos are
    embedded with flip averaging, as visual search does). Photos whose SKU left the catalogue
    are counted in `photos` but not scored."""
    photos = list(GoldPhoto.objects.order_by("pk"))
    ids = catalog_selectors.product_ids_by_sku(skus=sorted({p.expected_sku for p in photos}))
    scorable = [photo for photo in photos if photo.expected_sku in ids]
    if not scorable or not version.artifact_dir:
        return GoldPhotoScore(version.pk, len(photos), 0, None, None)
    embedder = get_embedder(version.artifact_dir)
    pixels = np.stack([load_image(bytes(p.image), size=version.input_size) for p in scorable])
    vectors = flip_averaged(embedder.embed, pixels)
    ranks, misses = [], []
    for photo, vector in zip(scorable, vectors, strict=True):
        found = [
            n.product_id
            for n in vector_store.nearest_products(version=version, vector=vector, k=GOLD_PHOTO_K)
        ]
        expected = ids[photo.expected_sku]
        ranks.append(found.index(expected) if expected in found else GOLD_PHOTO_K)
        if ranks[-1] != 0:
            misses.append(GoldPhotoMiss(photo.pk, photo.expected_sku, _skus(found[:3])))
    ranks_array = np.array(ranks)
    return GoldPhotoScore(
        version.pk,
        len(photos),
        len(scorable),
        float(np.mean(ranks_array < 1)),
        float(np.mean(ranks_array < GOLD_PHOTO_K)),
        misses,
    )


def _skus(product_ids: list[int]) -> list[str]:
    products = catalog_selectors.products_by_ids(ids=product_ids, with_images=False)
    return [products[pid].sku if pid in products else "?" for pid in product_ids]
