"""Recommended for many visitors in one request (an e-mail service filling a campaign, as
Algolia Recommend and Recombee take batches): each answered as its own request would be,
cache included, in the order given."""

import time

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.views import APIView

from partners.api import HasWriteKey
from similarity.api.serializers import ResultSerializer, SourcelessParamsSerializer
from similarity.api.views.responses import similar_query, timed_response

from ..visitors import InvalidVisitorId, visitor_hash
from .lists import sourceless_params
from .recommendations import visitor_answer

MAX_VISITORS = 100  # per request: a page of a campaign, answered within a request's time
ERROR_NOT_IN_BODY = "the body holds visitor_ids only: send {name} in the query string (?{name}=…)"


class VisitorBatchSerializer(serializers.Serializer):
    visitor_ids = serializers.ListField(
        child=serializers.CharField(allow_blank=True, trim_whitespace=False),
        min_length=1,
        max_length=MAX_VISITORS,
        help_text=f"1 to {MAX_VISITORS} visitor ids, as sent with their events",
    )

    def validate(self, data):
        # A filter sent here would be dropped without a word (k, in_stock, exclude...): the
        # similar-items batch takes them in its body, this one in its query string.
        if isinstance(self.initial_data, dict):
            extra = sorted(set(self.initial_data) - set(self.fields))
            if extra:
                raise ValidationError(
                    {name: [ERROR_NOT_IN_BODY.format(name=name)] for name in extra}
                )
        return data


class VisitorAnswerSerializer(serializers.Serializer):
    """One visitor's answer: the GET's fields, or `error` alone for an id it would refuse."""

    visitor_id = serializers.CharField()
    error = serializers.CharField(required=False, help_text="why this id has no answer")
    k_requested = serializers.IntegerField(required=False)
    k_returned = serializers.IntegerField(required=False)
    model_version = serializers.IntegerField(allow_null=True, required=False)
    results = ResultSerializer(many=True, required=False)


class VisitorBatchAnswerSerializer(serializers.Serializer):
    visitors = VisitorAnswerSerializer(many=True)


class VisitorRecommendationsBatchApi(APIView):
    """Each visitor's recommendations, as GET /visitors/{id}/recommendations/ answers them, in
    the order of `visitor_ids`; an id that request would refuse gets its `error`, the others
    their answer. The query string takes the same parameters, for every visitor."""

    permission_classes = [HasWriteKey]

    @extend_schema(
        request=VisitorBatchSerializer,
        parameters=[SourcelessParamsSerializer],
        responses=VisitorBatchAnswerSerializer,
    )
    def post(self, request):
        started = time.perf_counter()
        params = sourceless_params(request.META.get("QUERY_STRING", ""))
        body = VisitorBatchSerializer(data=request.data)
        if not body.is_valid():
            raise ValidationError(body.errors)
        query = similar_query(params)  # once for all, and a bad filter is a 400 before any work
        answers, states = [], set()
        for visitor_id in body.validated_data["visitor_ids"]:
            try:
                visitor = visitor_hash(visitor_id)
            except InvalidVisitorId as exc:
                answers.append({"visitor_id": visitor_id, "error": str(exc)})
                continue
            answer, state = visitor_answer(visitor, params, query)
            answers.append({"visitor_id": visitor_id, **answer})
            states.add(state)
        cache_state = "hit" if states == {"hit"} else "miss"  # "hit": every answer was cached
        return timed_response({"visitors": answers}, started, cache_state=cache_state)
