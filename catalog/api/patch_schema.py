"""The OpenAPI description of the product patches (catalog.api.patches validates with the PUT
body's own serializer; these document the same fields, each optional, and the answers)."""

from rest_framework import serializers
from rest_framework.fields import empty

from .patches import MAX_PATCHES
from .serializers import ProductInputSerializer


class ProductPatchSerializer(ProductInputSerializer):
    """The fields a patch may change, with the PUT body's limits: those given change, the
    others keep their values (no defaults); `tags` and `attributes` are replaced whole."""

    images = None

    def __init__(self, *args, **kwargs):
        # The schema's copy of the PUT fields (patch_values validates with the PUT's own).
        super().__init__(*args, **kwargs)
        for name, value in self.fields.items():
            value.required = name == "sku"
            value.default = empty


class ProductBatchPatchEntrySerializer(ProductPatchSerializer):
    sku = serializers.CharField(help_text="the product to change (it must exist)")


class ProductBatchPatchSerializer(serializers.Serializer):
    products = serializers.ListField(
        child=ProductBatchPatchEntrySerializer(),
        min_length=1,
        max_length=MAX_PATCHES,
        help_text=f"1 to {MAX_PATCHES} patches, each naming its product's `sku`",
    )


class PatchOutcomeSerializer(serializers.Serializer):
    sku = serializers.CharField(allow_blank=True)
    status = serializers.ChoiceField(choices=["updated", "unchanged", "failed"])
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="each field's problem, when the patch failed (nothing of it was written)",
    )


class ProductBatchPatchAnswerSerializer(serializers.Serializer):
    products = PatchOutcomeSerializer(many=True, help_text="one per patch, in the order sent")
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    failed = serializers.IntegerField()
