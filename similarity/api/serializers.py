from rest_framework import serializers

MAX_K = 100


class SimilarQuerySerializer(serializers.Serializer):
    k = serializers.IntegerField(min_value=1, max_value=MAX_K, default=8)
    explain = serializers.BooleanField(default=False)
    include_variants = serializers.BooleanField(default=False)


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


class SearchQuerySerializer(serializers.Serializer):
    q = serializers.CharField(max_length=200)
    k = serializers.IntegerField(min_value=1, max_value=MAX_K, default=20)


class ResultSerializer(serializers.Serializer):
    sku = serializers.CharField()
    title = serializers.CharField()
    score = serializers.FloatField()
    explain = serializers.DictField(required=False)


class ResultListSerializer(serializers.Serializer):
    k_requested = serializers.IntegerField()
    k_returned = serializers.IntegerField()
    model_version = serializers.IntegerField(allow_null=True)
    results = ResultSerializer(many=True)
