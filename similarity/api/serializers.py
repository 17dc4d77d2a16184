from django.http import QueryDict
from rest_framework import serializers

from catalog.api.serializers import UploadedImageField

from ..models import Job, ModelVersion

MAX_K = 100
ERROR_NOT_IN_QUERY = (
    "the batch takes its parameters in the JSON body beside skus: send {name} there"
)
MAX_BATCH_SKUS = 50
MAX_QUERY_CHARS = 200
ERROR_NO_SOURCE = "{name} is relative to a source product, and this list has none"
ERROR_NO_DIVERSITY = (
    "diversity re-ranks similar-items lists only (MMR over their products' image vectors); "
    "this list would ignore it"
)


class SimilarParamsSerializer(serializers.Serializer):
    """The similar-items query: k, filters, diversity, explain (query string or JSON body)."""

    k = serializers.IntegerField(min_value=1, max_value=MAX_K, default=8)
    category = serializers.CharField(
        max_length=1000,
        default="any",
        help_text="'any', 'same', or a category's path ('Home > Lamps') or slug ('home-lamps'); "
        "a category that does not exist is a 400",
    )
    categories = serializers.ListField(
        child=serializers.CharField(max_length=1000),
        required=False,
        default=list,
        max_length=20,
        help_text="category paths or slugs (each with its subcategories)",
    )
    brand = serializers.ListField(
        child=serializers.CharField(max_length=200), required=False, default=list, max_length=20
    )
    price_min = serializers.FloatField(min_value=0, required=False)
    price_max = serializers.FloatField(min_value=0, required=False)
    price_band = serializers.FloatField(
        min_value=0, max_value=10, required=False, help_text="relative: 0.5 → price/1.5 … price×1.5"
    )
    in_stock = serializers.BooleanField(default=False)
    include_variants = serializers.BooleanField(default=False)
    exclude = serializers.ListField(
        child=serializers.CharField(max_length=64),
        required=False,
        default=list,
        max_length=100,
        help_text="SKUs to leave out",
    )
    diversity = serializers.FloatField(
        min_value=0,
        max_value=1,
        required=False,
        help_text="MMR λ: 1 = relevance only, lower = more varied",
    )
    explain = serializers.BooleanField(default=False)

    def validate(self, data):
        if (
            data.get("price_min") is not None
            and data.get("price_max") is not None
            and (data["price_min"] > data["price_max"])
        ):
            raise serializers.ValidationError({"price_max": "must not be below price_min"})
        return data


# The parameters that take several values (brand, categories, exclude).
LIST_PARAMS = tuple(
    name
    for name, field in SimilarParamsSerializer().fields.items()
    if isinstance(field, serializers.ListField)
)


def list_param(key: str) -> str:
    """The parameter a key names: `brand[]`, as jQuery, axios and PHP write a list, is `brand`
    (DRF reads only the plain and indexed forms, and would drop the filter without a word)."""
    return key[:-2] if key.endswith("[]") and key[:-2] in LIST_PARAMS else key


def bracketed_lists(query: QueryDict) -> QueryDict:
    """The query with `brand[]=A&brand[]=B` read as `brand=A&brand=B` (`list_param`)."""
    bracketed = [key for key in query if list_param(key) != key]
    if not bracketed:
        return query
    query = query.copy()
    for key in bracketed:
        name = list_param(key)
        query.setlist(name, query.getlist(name) + query.pop(key))
    return query


class ListParamsSerializer(SimilarParamsSerializer):
    """The parameters as the lists that are not re-ranked by diversity take them (the API
    schema's; `undiversified_errors` refuses it)."""

    diversity = None


class SourcelessParamsSerializer(ListParamsSerializer):
    """… and that have no source product (trending, a visitor's, a photo's): no price band
    (`source_relative_errors` refuses it, and `category=same`)."""

    price_band = None
    category = serializers.CharField(
        max_length=1000,
        default="any",
        help_text="'any', or a category's path ('Home > Lamps') or slug ('home-lamps'); "
        "a category that does not exist is a 400",
    )


def source_relative_errors(params: dict) -> dict:
    """The parameters of a list without a source product (a photo, trending, a visitor's
    recommendations) that need one: each a 400, rather than quietly ignored."""
    errors = {}
    if params.get("category") == "same":
        errors["category"] = [ERROR_NO_SOURCE.format(name='category "same"')]
    if params.get("price_band") is not None:
        errors["price_band"] = [ERROR_NO_SOURCE.format(name="price_band")]
    return errors


def undiversified_errors(params: dict) -> dict:
    """`diversity` on a list that is not re-ranked by it (a photo search, the lists counted from
    events, a visitor's recommendations): a 400, rather than the same list as without it."""
    return {"diversity": [ERROR_NO_DIVERSITY]} if params.get("diversity") is not None else {}


def sourceless_errors(params: dict) -> dict:
    """The errors of a list without a source product, which no diversity re-ranks either (a
    photo search, trending, a visitor's recommendations)."""
    return source_relative_errors(params) | undiversified_errors(params)


class SimilarBatchSerializer(SimilarParamsSerializer):
    """The similar-items query for many SKUs, all in the JSON body: `skus`, k, filters,
    diversity, explain (a parameter sent in the query string is refused)."""

    # Kept as sent: the answer is keyed by each SKU as the partner spelled it, and " P1 " is no
    # product's SKU (as the GET's path says).
    skus = serializers.ListField(
        child=serializers.CharField(max_length=64, trim_whitespace=False),
        min_length=1,
        max_length=MAX_BATCH_SKUS,
    )

    def validate(self, data):
        request = self.context.get("request")
        query = sorted(set(request.query_params) - {"format"}) if request is not None else []
        if query:
            raise serializers.ValidationError(
                {name: [ERROR_NOT_IN_QUERY.format(name=name)] for name in query}
            )
        return super().validate(data)


class ImageSearchSerializer(SimilarParamsSerializer):
    # A file, judged by its content (catalog.images.prepare_image), not by its name: a browser's
    # FormData names a blob "blob", and Pillow's list of extensions is not what prodsim reads.
    image = UploadedImageField(help_text="JPEG, PNG or WebP photo")

    def validate(self, data):
        data = super().validate(data)
        if errors := sourceless_errors(data):
            raise serializers.ValidationError(errors)
        return data


class ImageSearchFormSerializer(SourcelessParamsSerializer):
    """The photo search's form as the API schema shows it (what ImageSearchSerializer accepts)."""

    image = UploadedImageField(help_text="JPEG, PNG or WebP photo")


class TextSearchParamsSerializer(serializers.Serializer):
    q = serializers.CharField(max_length=MAX_QUERY_CHARS)
    k = serializers.IntegerField(min_value=1, max_value=MAX_K, default=20)


class MatchInputSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=300)
    brand = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    model_number = serializers.CharField(
        max_length=100, required=False, allow_blank=True, default=""
    )
    description = serializers.CharField(
        max_length=5000, required=False, allow_blank=True, default=""
    )
    k = serializers.IntegerField(min_value=1, max_value=MAX_K, default=5)


class ResultSerializer(serializers.Serializer):
    sku = serializers.CharField()
    title = serializers.CharField()
    score = serializers.FloatField()
    tier = serializers.CharField(
        help_text=(
            "which stage produced it: image, text, category_newest, lexical, visual, or pinned "
            "(a merchandising pin)"
        )
    )
    explain = serializers.DictField(required=False)


class ResultListSerializer(serializers.Serializer):
    k_requested = serializers.IntegerField()
    k_returned = serializers.IntegerField()
    model_version = serializers.IntegerField(allow_null=True)
    results = ResultSerializer(many=True)


class ModelVersionOutputSerializer(serializers.ModelSerializer):
    vector_dim = serializers.IntegerField(
        read_only=True, help_text="The served vectors' length: embedding_dim per model served."
    )

    class Meta:
        model = ModelVersion
        fields = [
            "id",
            "status",
            "backbone",
            "weights_used",
            "input_size",
            "embedding_dim",
            "vector_dim",
            "metric",
            "label_source",
            "metrics",
            "dataset",
            "timings",
            "created_at",
            "activated_at",
        ]


class JobOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Job
        fields = [
            "id",
            "kind",
            "state",
            "model_version",
            "progress",
            "attempts",
            "error",
            "created_at",
            "started_at",
            "finished_at",
        ]
