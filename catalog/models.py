from decimal import Decimal
from urllib.parse import urlencode

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Func, Q
from django.db.models.functions import Upper
from django.db.models.lookups import Exact
from django.urls import reverse

from core.jobs.import_rows import ImportJobRow, ImportLineReport

from .attribute_values import ERROR_ATTRIBUTES_OBJECT, validate_attributes
from .category_paths import CATEGORY_PATH_SEPARATOR
from .skus import DOT_SEGMENTS, validate_sku


class Category(models.Model):
    """A node of the shop's category tree; `path` is the full ' > '-joined path, unique."""

    name = models.CharField(max_length=200)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    path = models.CharField(max_length=1000, unique=True)
    slug = models.SlugField(max_length=300, unique=True)

    class Meta:
        verbose_name_plural = "categories"
        ordering = ["path"]

    def __str__(self) -> str:
        return self.path

    @property
    def depth(self) -> int:
        return self.path.count(CATEGORY_PATH_SEPARATOR)


class Product(models.Model):
    """One sellable item of the shop's catalogue, identified by its SKU."""

    sku = models.CharField(max_length=64, unique=True, validators=[validate_sku])
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    brand = models.CharField(max_length=200, blank=True)
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.PROTECT, related_name="products"
    )
    price = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default="EUR")
    tags = ArrayField(models.CharField(max_length=100), default=list, blank=True)
    attributes = models.JSONField(default=dict, blank=True, validators=[validate_attributes])
    in_stock = models.BooleanField(default=True)
    group_id = models.CharField(
        max_length=64, blank=True, db_index=True, help_text="Variants of one product share it."
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title", "sku"]
        constraints = [
            models.CheckConstraint(
                condition=Q(price__gte=Decimal("0")), name="product_price_non_negative"
            ),
            models.CheckConstraint(condition=~Q(sku=""), name="product_sku_not_empty"),
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[A-Z]{3}$"), name="product_currency_iso4217"
            ),
            # Every reader takes them as name -> value (ranking, text, the product page).
            models.CheckConstraint(
                condition=Exact(
                    Func("attributes", function="jsonb_typeof", output_field=models.CharField()),
                    "object",
                ),
                name="product_attributes_object",
                violation_error_message=ERROR_ATTRIBUTES_OBJECT,
            ),
        ]
        indexes = [
            models.Index(fields=["category", "is_active"]),
            # Brand filters compare case-insensitively (iexact → UPPER(brand) = UPPER(%s)).
            models.Index(Upper("brand"), name="catalog_product_brand_upper"),
        ]

    def __str__(self) -> str:
        return f"{self.sku} – {self.title}"

    def get_absolute_url(self) -> str:
        return product_page_url(self.sku)


def product_page_url(sku: str) -> str:
    """The storefront page of the product with this SKU. A SKU stored before "/", "." and ".."
    were refused (catalog.checks) names no page: the shop's search for it instead."""
    if "/" not in sku and sku not in DOT_SEGMENTS:
        return reverse("storefront:product-detail", kwargs={"sku": sku})
    return f"{reverse('storefront:product-list')}?{urlencode({'q': sku})}"


class DeletedProduct(models.Model):
    """The SKU a deleted product had. Shoppers' events keep the product's id after its row is
    gone (history, counts), and a shopper's export must still say which product each was about.
    Forgotten with the events, after the retention period (behaviour's retention task)."""

    product_id = models.BigIntegerField(primary_key=True)
    sku = models.CharField(max_length=64)
    deleted_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.sku} (deleted)"


def product_image_upload_to(instance: "ProductImage", filename: str) -> str:
    # Server-generated name from the content hash: user-supplied names never reach the disk.
    extension = filename.rsplit(".", 1)[-1]
    return f"products/{instance.sha256[:2]}/{instance.sha256}.{extension}"


class ProductImage(models.Model):
    """A product photo, stored re-encoded under a content-derived name, with its dimensions."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    file = models.ImageField(upload_to=product_image_upload_to, max_length=300)
    sha256 = models.CharField(max_length=64, help_text="Hash of the original uploaded bytes.")
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    position = models.PositiveSmallIntegerField(default=0)
    is_primary = models.BooleanField(default=False)
    source_name = models.CharField(
        max_length=500, blank=True, help_text="Path in the import that supplied it (display only)."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["product", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["product"],
                condition=Q(is_primary=True),
                name="one_primary_image_per_product",
            ),
            models.UniqueConstraint(
                fields=["product", "position"], name="image_position_unique_per_product"
            ),
            models.UniqueConstraint(fields=["product", "sha256"], name="image_unique_per_product"),
            models.CheckConstraint(
                condition=Q(width__gt=0, height__gt=0), name="image_dimensions_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product.sku} image {self.position}"


class ImportJob(ImportJobRow):
    """One catalogue import (CSV + images) and its outcome; the admin and API read its progress."""

    csv_file = models.FileField(upload_to="imports/%Y/%m/", max_length=300)
    images_file = models.FileField(upload_to="imports/%Y/%m/", max_length=300, blank=True)
    images_dir = models.CharField(
        max_length=1000, blank=True, help_text="Server-side image folder (management command)."
    )
    rows_total = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    unchanged_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    images_added = models.PositiveIntegerField(default=0)
    images_rejected = models.PositiveIntegerField(default=0)

    class Meta(ImportJobRow.Meta):
        # Uploading replaces catalogue data in bulk: its own permission, beyond "add import job".
        permissions = [("upload_catalogue", "Can upload a catalogue (CSV and images)")]

    def __str__(self) -> str:
        return f"Import #{self.pk} ({self.state})"


class ImportRowError(ImportLineReport):
    """A problem with one line of an import: a rejected row, or a rejected image of a kept row."""

    class Level(models.TextChoices):
        ROW_REJECTED = "row", "row rejected"
        IMAGE_REJECTED = "image", "image rejected"
        WARNING = "warning", "warning"

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="row_errors")
    level = models.CharField(max_length=10, choices=Level.choices)
