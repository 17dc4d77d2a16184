"""Writes to products, categories and product images."""

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from functools import partial

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from core.locks import stored_file_lock

from .. import changes
from ..images import PreparedImage
from ..importers import ProductRow
from ..models import (
    CATEGORY_PATH_SEPARATOR,
    Category,
    DeletedProduct,
    Product,
    ProductImage,
    product_image_upload_to,
)

PRODUCT_FIELDS = (
    "title",
    "description",
    "brand",
    "price",
    "currency",
    "tags",
    "attributes",
    "in_stock",
    "group_id",
    "is_active",
)


class UpsertOutcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class UpsertResult:
    product_id: int
    outcome: UpsertOutcome
    images_added: int
    # This write took an active product off sale (is_active true → false); a write that leaves
    # a product inactive is not a withdrawal (catalog.changes.products_withdrawn).
    withdrawn: bool = False
    # This write took a product out of stock (in_stock true → false).
    sold_out: bool = False


@dataclass(frozen=True)
class ImageToAttach:
    prepared: PreparedImage
    source_name: str


SLUG_ATTEMPTS = 3


def category_get_or_create(
    *, path: str, cache: dict[str, Category] | None = None
) -> Category | None:
    """Return the category for a ' > ' path, creating missing ancestors. Empty path → None.

    `cache` (path → Category) lets a bulk import look each path up once: a category found is
    cached at once, one created here only once its transaction commits, so a row that rolls back
    never leaves a cached category whose row is gone.
    """
    if not path:
        return None
    cache = {} if cache is None else cache
    parent = None
    levels = path.split(CATEGORY_PATH_SEPARATOR)
    for depth in range(1, len(levels) + 1):
        level_path = CATEGORY_PATH_SEPARATOR.join(levels[:depth])
        if level_path not in cache:
            parent = _category_level(level_path, levels[depth - 1], parent, cache)
        else:
            parent = cache[level_path]
    return parent


def _category_level(
    path: str, name: str, parent: Category | None, cache: dict[str, Category]
) -> Category:
    # A callable default runs only on a create: an existing category costs one query, not the
    # slug checks too (get_or_create also absorbs a concurrent import creating the same path).
    defaults = {"name": name, "parent": parent, "slug": partial(_unique_category_slug, path)}
    for attempt in range(SLUG_ATTEMPTS):
        try:
            category, created = Category.objects.get_or_create(path=path, defaults=defaults)
            break
        except IntegrityError:
            # Another path whose slug is the same ('Home & Garden', 'Home > Garden') was created
            # at the same moment and took it; looked for again, the next free one is picked.
            if attempt == SLUG_ATTEMPTS - 1:
                raise
    if created:
        transaction.on_commit(partial(cache.__setitem__, path, category))
    else:
        cache[path] = category
    return category


def _unique_category_slug(path: str) -> str:
    base = slugify(path.replace(CATEGORY_PATH_SEPARATOR, " ")) or "category"
    slug, suffix = base[:280], 2
    while Category.objects.filter(slug=slug).exists():
        slug, suffix = f"{base[:280]}-{suffix}", suffix + 1
    return slug


def product_upsert(
    *,
    row: ProductRow,
    images: list[ImageToAttach] | None,
    notify: bool = True,
    categories: dict[str, Category] | None = None,
) -> UpsertResult:
    """Create or update the product with row.sku and make its images exactly `images`, in order
    (images=None keeps the current images).

    Runs in one transaction (a savepoint inside the import's): a failure leaves no row and no
    newly written file behind. Concurrent upserts of one SKU serialise on the row lock.
    notify=False: the caller (a bulk import) announces all changes (and withdrawals, told by the
    result) at once. `categories`: a bulk
    import's cache of categories by path (category_get_or_create).
    """
    written: list[str] = []
    try:
        with transaction.atomic():
            result = _product_upsert(row, images, written, categories)
            if notify and result.outcome != UpsertOutcome.UNCHANGED:
                # Vectors follow the product within seconds (enqueued after commit).
                changes.products_changed(
                    product_ids=[result.product_id], images_changed=images is not None
                )
            if notify and result.withdrawn:
                changes.products_withdrawn(product_ids=[result.product_id])
            if notify and result.sold_out:
                changes.products_sold_out(product_ids=[result.product_id])
            return result
    except BaseException:
        _written_files_removed(written)
        raise


def _product_upsert(
    row: ProductRow,
    images: list[ImageToAttach] | None,
    written: list[str],
    categories: dict[str, Category] | None,
):
    values = {name: getattr(row, name) for name in PRODUCT_FIELDS}
    values["category"] = category_get_or_create(path=row.category_path, cache=categories)
    product, created = Product.objects.select_for_update().get_or_create(
        sku=row.sku, defaults=values
    )
    changed_fields = [] if created else _apply_changes(product, values)
    # Only here is the flip seen: the row's old value is gone once saved.
    withdrawn = "is_active" in changed_fields and not product.is_active
    sold_out = "in_stock" in changed_fields and not product.in_stock
    images_added = None if images is None else _sync_images(product, images, written)
    if changed_fields or (images_added is not None and not created):
        # updated_at also marks image changes: caches of similar lists key on it.
        product.save(update_fields=[*changed_fields, "updated_at"])
    if created:
        outcome = UpsertOutcome.CREATED
    elif changed_fields or images_added is not None:
        outcome = UpsertOutcome.UPDATED
    else:
        outcome = UpsertOutcome.UNCHANGED
    return UpsertResult(product.pk, outcome, images_added or 0, withdrawn, sold_out)


def _apply_changes(product: Product, values: dict) -> list[str]:
    changed = []
    for name, value in values.items():
        if getattr(product, name) != value:
            setattr(product, name, value)
            changed.append(name)
    return changed


def _sync_images(product: Product, images: list[ImageToAttach], written: list[str]) -> int | None:
    """Make the product's images the given list (matched by content hash).

    Returns how many images were new, or None when the list was already exactly this. The same
    bytes listed twice count once, at their first place (a product holds each image once).
    """
    first: dict[str, ImageToAttach] = {}
    for image in images:
        first.setdefault(image.prepared.sha256, image)
    images = list(first.values())
    wanted = [image.prepared.sha256 for image in images]
    current = list(product.images.order_by("position").values_list("sha256", flat=True))
    if wanted == current:
        return None
    removed = list(product.images.exclude(sha256__in=wanted).values_list("file", flat=True))
    product.images.exclude(sha256__in=wanted).delete()
    if removed:
        transaction.on_commit(lambda: _delete_unreferenced_files(removed))
    existing = {image.sha256: image for image in product.images.all()}
    # Park kept images above every position in use first, so the (product, position) constraint
    # holds while they are renumbered (a kept image may sit anywhere, the last place included).
    offset = 1 + max((image.position for image in existing.values()), default=len(wanted))
    offset = max(offset, len(wanted))
    for index, image in enumerate(existing.values()):
        image.position, image.is_primary = offset + index, False
        image.save(update_fields=["position", "is_primary"])
    for position, to_attach in enumerate(images):
        image = existing.get(to_attach.prepared.sha256) or _new_image(product, to_attach, written)
        image.position, image.is_primary = position, position == 0
        image.save()
    return len(set(wanted) - set(existing))


def _new_image(product: Product, to_attach: ImageToAttach, written: list[str]) -> ProductImage:
    prepared = to_attach.prepared
    image = ProductImage(
        product=product,
        sha256=prepared.sha256,
        width=prepared.width,
        height=prepared.height,
        source_name=to_attach.source_name[:500],
    )
    name = product_image_upload_to(image, f"image.{prepared.extension}")
    # Content-addressed: the same original always maps to the same stored file, shared by rows.
    # Locked until this commits: a removal now waits, then sees this row (or it ran first, and
    # the file is written again here).
    stored_file_lock(name)
    if not default_storage.exists(name):
        name = default_storage.save(name, ContentFile(prepared.content))
        written.append(name)
    image.file.name = name
    return image


def _written_files_removed(names: list[str]) -> None:
    """The files a failed upsert wrote go, through the lock: another upsert may have taken one
    once the rollback released it. Without a database to ask (the failure was losing it), no
    transaction that could have taken one can commit either."""
    for name in names:
        try:
            _delete_if_unreferenced(name)
        except DatabaseError:
            default_storage.delete(name)


def _delete_unreferenced_files(names: list[str]) -> None:
    for name in names:
        _delete_if_unreferenced(name)


def _delete_if_unreferenced(name: str) -> None:
    with transaction.atomic():
        stored_file_lock(name)  # after any upsert that has taken this file has committed
        if not ProductImage.objects.filter(file=name).exists():
            default_storage.delete(name)


@transaction.atomic
def product_locked_for_edit(*, product_id: int):
    """When the product was last saved, its row locked until the caller's transaction ends (an
    admin's save: no import or API change slips in between its check and its write); None when
    it is gone."""
    rows = Product.objects.select_for_update().filter(pk=product_id)
    return rows.values_list("updated_at", flat=True).first()


def product_images_removed(*, product: Product, files: list[str]) -> None:
    """After some of the product's images were deleted outside an upsert (the admin): the
    rest close up in order, the first becomes primary, files no row uses any more go once
    this commits, and the product's vectors and lists follow its new images."""
    for position, image in enumerate(product.images.order_by("position")):
        # Ascending: each image moves down to a position a deleted one (or it) freed.
        image.position, image.is_primary = position, position == 0
        image.save(update_fields=["position", "is_primary"])
    transaction.on_commit(lambda: _delete_unreferenced_files(files))
    changes.products_changed(product_ids=[product.pk], images_changed=True)


def product_delete(*, sku: str) -> bool:
    """Delete a product, its images and (by cascade) its vectors, keeping its id's SKU for the
    events that name it (DeletedProduct). False if there was none."""
    product = Product.objects.filter(sku=sku).first()
    if product is None:
        return False
    names = list(product.images.values_list("file", flat=True))
    with transaction.atomic():
        DeletedProduct.objects.update_or_create(
            product_id=product.pk, defaults={"sku": product.sku, "deleted_at": timezone.now()}
        )
        product.delete()
        changes.product_deleted(sku=sku)
        transaction.on_commit(lambda: _delete_unreferenced_files(names))
    return True


def deleted_products_forget(*, before: dt.datetime) -> int:
    """Forget the SKUs of products deleted before `before` (the events' retention cut-off: no
    event kept names them any more); how many went."""
    forgotten, _ = DeletedProduct.objects.filter(deleted_at__lt=before).delete()
    return forgotten
