from collections.abc import Mapping

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from core.parsers import StrictJSONParser

from .. import selectors
from ..images import InvalidImage, prepare_image
from ..importers import ProductRow
from ..services import UpsertOutcome, product_delete, product_upsert
from ..services.patches import ProductNotFound, product_patch
from ..services.products import ImageToAttach
from ..skus import sku_normalised, sku_problem
from .categories import category_paths
from .patch_schema import (
    ProductBatchPatchAnswerSerializer,
    ProductBatchPatchSerializer,
    ProductPatchSerializer,
)
from .patches import batch_patch, patch_values
from .serializers import (
    ProductInputSerializer,
    ProductOutputSerializer,
    unknown_field_errors,
)


class ProductListApi(generics.ListAPIView):
    """Active products (cursor-paginated), filterable by category, brand, stock and words."""

    serializer_class = ProductOutputSerializer
    parser_classes = [StrictJSONParser]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "category", str, description="Category path or slug (with its subcategories)"
            ),
            OpenApiParameter("brand", str),
            OpenApiParameter("in_stock", bool),
            OpenApiParameter("q", str, description="Words that must all appear"),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="v1_products_batch_partial_update",
        request=ProductBatchPatchSerializer,
        responses=ProductBatchPatchAnswerSerializer,
        description="Changes the fields each patch gives of its existing product, in order; a "
        "patch that fails (an unknown SKU, a bad value) writes nothing and is reported with its "
        "errors, the others are written.",
    )
    def patch(self, request):
        return Response(batch_patch(request.data))

    def get_queryset(self):
        params = self.request.query_params
        category = None
        if value := params.get("category"):
            # A path (as products answer it) or a slug, as the similar-items endpoints take it.
            path = category_paths([value]).get(value)
            category = None if path is None else selectors.category_get(path=path)
            if category is None:
                raise NotFound("No such category")
        products = selectors.product_list(category=category, query=params.get("q", "")[:200])
        if brand := params.get("brand"):
            products = products.filter(brand__iexact=brand)
        if _flag(params, "in_stock"):
            products = products.filter(in_stock=True)
        return products.prefetch_related("images")


def _other_sku(data, sku: str) -> dict[str, list[str]]:
    """The body's `sku` (a product read back and sent again carries one) must be the URL's."""
    given = data.get("sku") if isinstance(data, Mapping) else None
    if given is None or (isinstance(given, str) and sku_normalised(given) == sku_normalised(sku)):
        return {}
    return {"sku": [f"differs from the URL's SKU {sku!r}: a PUT changes the product it names"]}


def _flag(params, name: str) -> bool:
    """A boolean query parameter, spelt as the other endpoints take them (true/false, 1/0,
    yes/no, on/off); anything else is a 400 naming it, not silently ignored."""
    if name not in params:
        return False
    try:
        return serializers.BooleanField().to_internal_value(params[name])
    except ValidationError as exc:
        raise ValidationError({name: exc.detail}) from None


class ProductDetailApi(APIView):
    """Read, create-or-replace (PUT, JSON or multipart with images), change some fields of
    (PATCH, JSON) and delete one product."""

    parser_classes = [StrictJSONParser, MultiPartParser]

    def get_parsers(self):
        # A patch is JSON (images change with a PUT): anything else is the usual 415.
        if getattr(self, "request", None) is not None and self.request.method == "PATCH":
            return [StrictJSONParser()]
        return super().get_parsers()

    @extend_schema(responses=ProductOutputSerializer)
    def get(self, request, sku: str):
        product = selectors.product_get(sku=sku)
        if product is None:
            raise NotFound(f"no active product with SKU {sku!r}")
        return Response(ProductOutputSerializer(product, context={"request": request}).data)

    @extend_schema(
        request=ProductInputSerializer,
        responses={200: ProductOutputSerializer, 201: ProductOutputSerializer},
        description="Replaces the product (200), or creates it (201).",
    )
    def put(self, request, sku: str):
        # A product stored before SKUs were normalised or the rules held keeps its spelling and
        # stays writable (withdrawing it is a PUT); only a new product must follow the rules.
        stored = selectors.product_sku_stored(sku=sku)
        if stored is None and (problem := sku_problem(sku_normalised(sku))):
            raise ValidationError({"sku": [problem]})
        sku = stored or sku_normalised(sku)
        if errors := unknown_field_errors(request.data) or _other_sku(request.data, sku):
            raise ValidationError(errors)
        data = ProductInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        images = _prepared_images(values["images"]) if "images" in values else None
        row = ProductRow(
            line=0,
            sku=sku,
            title=values["title"],
            price=values["price"],
            currency=values["currency"],
            description=values["description"],
            brand=values["brand"],
            category_path=values["category"],  # normalised by the serializer
            tags=list(dict.fromkeys(values["tags"])),
            attributes=values["attributes"],
            in_stock=values["in_stock"],
            group_id=values["group_id"],
            is_active=values["active"],
            image_paths=[],
        )
        result = product_upsert(row=row, images=images)
        product = selectors.product_get(sku=sku) or selectors.product_any(sku=sku)
        code = status.HTTP_201_CREATED if result.outcome == UpsertOutcome.CREATED else 200
        return Response(
            ProductOutputSerializer(product, context={"request": request}).data, status=code
        )

    @extend_schema(
        request=ProductPatchSerializer,
        responses=ProductOutputSerializer,
        description="Changes only the fields given (JSON) of an existing product; 404 when "
        "there is none (PUT creates one).",
    )
    def patch(self, request, sku: str):
        stored = selectors.product_sku_stored(sku=sku)
        if stored is None:
            raise NotFound(f"no product with SKU {sku!r}")
        try:
            product_patch(sku=stored, values=patch_values(request.data))
        except ProductNotFound:  # deleted since the lookup
            raise NotFound(f"no product with SKU {sku!r}") from None
        product = selectors.product_get(sku=stored) or selectors.product_any(sku=stored)
        return Response(ProductOutputSerializer(product, context={"request": request}).data)

    @extend_schema(responses={204: None})
    def delete(self, request, sku: str):
        stored = selectors.product_sku_stored(sku=sku)
        if stored is None or not product_delete(sku=stored):
            raise NotFound(f"no product with SKU {sku!r}")
        return Response(status=status.HTTP_204_NO_CONTENT)


def _prepared_images(uploads) -> list[ImageToAttach]:
    prepared, errors = [], {}
    for position, upload in enumerate(uploads):
        try:
            data = upload.read(settings.PRODSIM_MAX_IMAGE_BYTES + 1)
            prepared.append(
                ImageToAttach(
                    prepare_image(
                        data,
                        max_bytes=settings.PRODSIM_MAX_IMAGE_BYTES,
                        max_pixels=settings.PRODSIM_MAX_IMAGE_PIXELS,
                    ),
                    upload.name or "",
                )
            )
        except InvalidImage as exc:
            errors[str(position)] = [f"{upload.name}: {exc}"]
    if errors:
        raise ValidationError({"images": errors})
    return prepared
