from rest_framework import serializers

from ..models import Product, ProductImage


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
            "images",
            "updated_at",
        ]
