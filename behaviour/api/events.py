"""Partners send shopper events in batches (a shopper's export and erasure: visitors.py)."""

import codecs
import math

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.parsers import JSONParser, get_encoding
from rest_framework.response import Response
from rest_framework.utils import json as drf_json
from rest_framework.views import APIView

from core.parsers import ERROR_TOO_DEEP

from ..models import Event
from ..services.ingest import MAX_BATCH, events_record

ERROR_NOT_A_BATCH = 'the body must be {"events": [...]}'
ERROR_EMPTY_BATCH = "the batch holds no events"
ERROR_BATCH_TOO_LARGE = f"a batch holds at most {MAX_BATCH} events"


class EventsJSONParser(JSONParser):
    """Plain JSON: text PostgreSQL cannot store (a NUL) is rejected per event by the checks, so
    one bad event does not cost the rest of its batch (the strict parser refuses whole bodies).
    Likewise an integer too long for Python to convert (over 4,300 digits): it reads as out of
    range, which the event's checks refuse as they refuse 1e400."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            text = codecs.getreader(get_encoding(parser_context or {}))(stream)
            parse_constant = drf_json.strict_constant if self.strict else None
            return drf_json.load(text, parse_constant=parse_constant, parse_int=_int_or_inf)
        except RecursionError:
            raise ParseError(ERROR_TOO_DEEP) from None
        except ValueError as exc:  # as JSONParser words it
            raise ParseError(f"JSON parse error - {exc}") from None


def _int_or_inf(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:  # past sys.get_int_max_str_digits()
        return -math.inf if text.startswith("-") else math.inf


class EventInputSerializer(serializers.Serializer):
    """Documents one event; the checks themselves run per event in the service."""

    event_id = serializers.CharField(help_text="idempotency key: a resent event is a duplicate")
    kind = serializers.ChoiceField(choices=Event.Kind.choices)
    sku = serializers.CharField()
    visitor_id = serializers.CharField(help_text="the shop's customer or session id (hashed)")
    occurred_at = serializers.DateTimeField(help_text="ISO 8601 with a UTC offset")
    order_id = serializers.CharField(required=False, help_text="purchases")
    quantity = serializers.IntegerField(required=False, help_text="purchases")
    unit_price = serializers.DecimalField(
        max_digits=12, decimal_places=2, required=False, help_text="purchases"
    )


class EventOutcomeSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    event_id = serializers.CharField()
    status = serializers.ChoiceField(choices=["accepted", "duplicate", "rejected"])
    reason = serializers.CharField()


class EventBatchApi(APIView):
    """Record up to 1,000 events; each is answered accepted, duplicate or rejected (with why)."""

    parser_classes = [EventsJSONParser]

    @extend_schema(
        request=inline_serializer("EventBatch", {"events": EventInputSerializer(many=True)}),
        responses=inline_serializer(
            "EventBatchOutcome",
            {
                "accepted": serializers.IntegerField(),
                "duplicates": serializers.IntegerField(),
                "rejected": serializers.IntegerField(),
                "events": EventOutcomeSerializer(many=True),
            },
        ),
    )
    def post(self, request):
        items = request.data.get("events") if isinstance(request.data, dict) else None
        if not isinstance(items, list):
            raise ValidationError({"events": [ERROR_NOT_A_BATCH]})
        if not items:
            raise ValidationError({"events": [ERROR_EMPTY_BATCH]})
        if len(items) > MAX_BATCH:
            raise ValidationError({"events": [ERROR_BATCH_TOO_LARGE]})
        outcomes = events_record(items=items)
        counts = {status: 0 for status in ("accepted", "duplicate", "rejected")}
        for outcome in outcomes:
            counts[outcome.status] += 1
        body = {
            "accepted": counts["accepted"],
            "duplicates": counts["duplicate"],
            "rejected": counts["rejected"],
            "events": [outcome.__dict__ for outcome in outcomes],
        }
        return Response(body, status=status.HTTP_200_OK)
