from collections.abc import Mapping
from decimal import Decimal

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.utils import html

from core.middleware import has_unstorable_text
from core.parsers import ERROR_NOT_FINITE, contains_infinite

from ..importers import (
    ERROR_ATTRIBUTES_TEXT,
    category_path_problem,
    currency_code,
    json_strings,
    normalise_category_path,
)
from ..models import Product, ProductImage
from .form_fields import FormDictField, FormListField, form_key_field

MAX_IMAGES = 10
MAX_TAGS = 50
ERROR_UNKNOWN_FIELD = "not a field of a product; a PUT takes: {fields}"


class ProductImageOutputSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = ProductImage
        fields = ["url", "width", "height", "position", "is_primary"]

    def get_url(self, image: ProductImage) -> str:
        return self.context["request"].build_absolute_uri(image.file.url)


class ProductOutputSerializer(serializers.ModelSerializer):
    category = serializers.CharField(source="category.path", default="", read_only=True)
    images = ProductImageOutputSerializer(many=True, read_only=True)
    active = serializers.BooleanField(source="is_active", read_only=True)  # after a withdrawal

    class Meta:
        model = Product
        fields = [
            "sku",
            "title",
            "description",
            "brand",
            "category",
            "price",
            "currency",
            "tags",
            "attributes",
            "in_stock",
            "group_id",
            "active",
            "images",
            "updated_at",
        ]


@extend_schema_field({"type": "string", "format": "binary"})
class UploadedImageField(serializers.FileField):
    """An uploaded photo: drf-spectacular describes a FileField as a URL, which clients sent."""


ERROR_TAG_SEPARATOR = "a tag may not hold |: the catalogue CSV and the admin separate tags with it"


def _no_list_separator(value: str) -> None:
    # Such a tag could not be written in the CSV, and the admin's field would split it in two.
    if "|" in value:
        raise serializers.ValidationError(ERROR_TAG_SEPARATOR)


class ProductInputSerializer(serializers.Serializer):
    """A product as a partner sends it (JSON, or multipart when it carries images)."""

    title = serializers.CharField(max_length=300)
    price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0"))
    currency = serializers.CharField(max_length=3, required=False)
    description = serializers.CharField(
        max_length=100_000, required=False, allow_blank=True, default=""
    )
    brand = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    category = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")
    tags = FormListField(
        child=serializers.CharField(max_length=100, validators=[_no_list_separator]),
        json_text=True,
        required=False,
        max_length=MAX_TAGS,
        default=list,
        help_text='In a multipart form: repeated `tags` fields or one JSON array, `["a", "b"]`.',
    )
    attributes = FormDictField(
        required=False,
        default=dict,
        help_text='In a multipart form: one JSON object, `{"colour": "red"}`, or one field per '
        "key, `attributes.colour=red` (or `attributes[colour]=red`).",
    )
    in_stock = serializers.BooleanField(required=False, default=True)
    group_id = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    active = serializers.BooleanField(required=False, default=True)
    images = FormListField(
        child=UploadedImageField(),
        required=False,
        max_length=MAX_IMAGES,
        help_text="Photos as files of a multipart form (first = primary): they replace the "
        "product's images; omit to keep them.",
    )

    def validate_category(self, value: str) -> str:
        path = normalise_category_path(value)
        if problem := category_path_problem(path):
            raise serializers.ValidationError(problem)
        return path

    def validate_currency(self, value: str) -> str:
        if (code := currency_code(value)) is None:
            raise serializers.ValidationError("not a three-letter ISO 4217 code")
        return code

    def validate_attributes(self, value: dict) -> dict:
        # A form's values are not checked by the JSON parser: PostgreSQL would refuse these.
        if any(has_unstorable_text(text) for text in json_strings(value)):
            raise serializers.ValidationError(ERROR_ATTRIBUTES_TEXT)
        if contains_infinite(value):  # a form's NaN, Infinity or 1e400
            raise serializers.ValidationError(ERROR_NOT_FINITE)
        return value

    def validate(self, data):
        data.setdefault("currency", settings.PRODSIM_DEFAULT_CURRENCY)
        return data


def unknown_field_errors(data) -> dict[str, list[str]]:
    """A PUT body's keys that name no field, each with the fields there are. A PUT replaces the
    whole product, so a flag spelt another way (`stock`, `is_active`) or a photo sent as `image`
    would otherwise be dropped and its default stored: a sold-out product back on sale. A form
    names a field also as `tags[]`, `tags[0]`, `attributes.colour` or `attributes[colour]`."""
    if not isinstance(data, Mapping):
        return {}  # the serializer says what a body must be
    fields = {**ProductInputSerializer().fields, "sku": None}  # the sku: checked with the URL's
    as_form = html.is_html_input(data)
    unknown = [
        key for key in data if (form_key_field(key, fields) if as_form else key) not in fields
    ]
    message = ERROR_UNKNOWN_FIELD.format(fields=", ".join(fields))
    return {key: [message] for key in unknown}
