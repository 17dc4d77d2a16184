"""Small builders for catalogue test data: products, CSV files, zips and images made with Pillow."""

import csv
import io
import zipfile
from decimal import Decimal
from pathlib import Path

from PIL import Image

from catalog.models import Product

CSV_HEADER = [
    "sku",
    "title",
    "price",
    "currency",
    "brand",
    "category",
    "tags",
    "attributes",
    "in_stock",
    "group_id",
    "images",
]


def image_bytes(color=(200, 30, 30), size=(64, 48), fmt="JPEG", mode="RGB", **save_args) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, color).save(buffer, format=fmt, **save_args)
    return buffer.getvalue()


def product(**overrides) -> Product:
    values = {"sku": "SKU-1", "title": "Red mug", "price": Decimal("9.90"), "currency": "EUR"}
    values.update(overrides)
    return Product.objects.create(**values)


def csv_bytes(rows: list[dict], header: list[str] = CSV_HEADER, bom: bool = False) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=header, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return ("\ufeff" if bom else "").encode() + buffer.getvalue().encode("utf-8")


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
