"""Product images as the similarity app reads them (records, never model instances, cross apps)."""

from dataclasses import dataclass

from django.core.files.storage import default_storage

from ..models import ProductImage


@dataclass(frozen=True)
class ImageRecord:
    """What the similarity app needs of one product image (no model instances cross apps)."""

    image_id: int
    product_id: int
    file_name: str
    sha256: str
    group_id: str
    category_path: str


def image_records(*, after_id: int = 0, product_ids: list[int] | None = None) -> list[ImageRecord]:
    """Images of active products in id order (the order bulk embedding resumes in)."""
    images = ProductImage.objects.filter(product__is_active=True, pk__gt=after_id)
    if product_ids is not None:
        images = images.filter(product_id__in=product_ids)
    rows = images.order_by("pk").values_list(
        "pk", "product_id", "file", "sha256", "product__group_id", "product__category__path"
    )
    return [
        ImageRecord(pk, product, name, sha, group or "", path or "")
        for pk, product, name, sha, group, path in rows
    ]


def image_read(*, file_name: str) -> bytes:
    """The stored derivative's bytes (through the storage backend, wherever it lives)."""
    with default_storage.open(file_name, "rb") as handle:
        return handle.read()
