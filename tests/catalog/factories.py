"""Small builders for catalogue test data: products, CSV files, zips and images made with Pillow,
an import stopped part-way (`stops_after_rows`) and the admin's product form (`change_form`)."""

import csv
import io
import zipfile
from decimal import Decimal
from pathlib import Path

from django.urls import reverse
from PIL import Image

from catalog.images import prepare_image
from catalog.importers import ProductRow
from catalog.models import Product
from catalog.services import imports, product_upsert
from catalog.services.products import ImageToAttach

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


SHAPES = ("square", "bar", "cross", "frame")


def shape_image(shape: str, color: tuple, *, size: int = 32, offset: int = 0, fmt="PNG") -> bytes:
    """A white image with one coloured shape; the shape is what similar items share."""
    from PIL import ImageDraw

    image = Image.new("RGB", (size, size), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    o = offset
    if shape == "square":
        draw.rectangle([8 + o, 8 + o, 22 + o, 22 + o], fill=color)
    elif shape == "bar":
        draw.rectangle([2, 12 + o, size - 3, 18 + o], fill=color)
    elif shape == "cross":
        draw.rectangle([14 + o, 2, 18 + o, size - 3], fill=color)
        draw.rectangle([2, 14 + o, size - 3, 18 + o], fill=color)
    else:
        draw.rectangle([4 + o, 4 + o, 26 - o, 26 - o], outline=color, width=3)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


COLOURS = ((220, 30, 30), (30, 30, 220), (30, 160, 30), (200, 160, 20))


def shape_catalogue(*, groups_per_shape: int = 1, colours: int = 4, images_per_product: int = 1):
    """Products in variant groups: a group is one shape in several colours. Returns products."""
    from catalog.images import prepare_image
    from catalog.importers import ProductRow
    from catalog.services import product_upsert
    from catalog.services.products import ImageToAttach

    products = []
    for shape in SHAPES:
        for group in range(groups_per_shape):
            for colour_index, colour in enumerate(COLOURS[:colours]):
                sku = f"{shape}-{group}-{colour_index}".upper()
                images = [
                    ImageToAttach(
                        prepare_image(
                            shape_image(shape, colour, offset=view + group),
                            max_bytes=10**6,
                            max_pixels=10**6,
                        ),
                        f"{sku}-{view}.png",
                    )
                    for view in range(images_per_product)
                ]
                row = ProductRow(
                    line=2,
                    sku=sku,
                    title=f"{shape} {colour_index}",
                    price=Decimal("10"),
                    currency="EUR",
                    category_path=f"Shapes > {shape}",
                    group_id=f"{shape}-{group}",
                )
                product_upsert(row=row, images=images)
                products.append(Product.objects.get(sku=sku))
    return products


def add_product(sku, title, *, category="Home > Kitchen > Mugs", price="9.90", image=None, **extra):
    """Create or update a product through the catalogue service, as an import row would."""
    images = []
    if image is not None:
        prepared = prepare_image(image, max_bytes=10**6, max_pixels=10**6)
        images = [ImageToAttach(prepared=prepared, source_name=f"{sku}.jpg")]
    row = ProductRow(
        line=2,
        sku=sku,
        title=title,
        price=Decimal(price),
        currency="EUR",
        category_path=category,
        **extra,
    )
    product_upsert(row=row, images=images)


def shape_catalogue_files(folder) -> tuple:
    """The shapes catalogue of the similarity tests as an upload: a CSV and a zip of its images."""
    rows, images = [], {}
    for shape in SHAPES:
        for group in range(2):
            for colour_index, colour in enumerate(COLOURS[:3]):
                sku = f"{shape}-{group}-{colour_index}".upper()
                images[f"{sku}.png"] = shape_image(shape, colour, offset=group)
                rows.append(
                    {
                        "sku": sku,
                        "title": f"{shape} {colour_index}",
                        "price": "10",
                        "category": f"Shapes > {shape}",
                        "group_id": f"{shape}-{group}",
                        "images": f"{sku}.png",
                    }
                )
    header = ["sku", "title", "price", "category", "group_id", "images"]
    csv_path, zip_path = folder / "shop.csv", folder / "images.zip"
    csv_path.write_bytes(csv_bytes(rows, header=header))
    zip_path.write_bytes(zip_bytes(images))
    return csv_path, zip_path


class Killed(BaseException):
    """The worker child dies (out of memory, SIGKILL): no `except Exception` sees it."""


def stops_after_rows(monkeypatch, stop: BaseException, rows: int = 2):
    """Patch the import to raise `stop` once `rows` rows are done; returns the real row import."""
    real_row = imports._import_row

    def row(job, *args):
        if job.rows_done == rows:
            raise stop
        real_row(job, *args)

    monkeypatch.setattr(imports, "_import_row", row)
    return real_row


def change_form(admin_client, product, **changes) -> dict:
    """The product's admin change form as the page fills it, its one image kept, with changes."""
    url = reverse("admin:catalog_product_change", args=[product.pk])
    form = admin_client.get(url).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    return data | {
        "category": product.category_id or "",
        "tags": "",
        "attributes": "{}",
        "images-TOTAL_FORMS": "1",
        "images-INITIAL_FORMS": "1",
        "images-MIN_NUM_FORMS": "0",
        "images-MAX_NUM_FORMS": "1000",
        "images-0-id": product.images.get().pk,
        "images-0-product": product.pk,
        **changes,
    }
