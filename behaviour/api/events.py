"""Partners send shopper events in batches, and act on a shopper's export and erasure requests."""

import datetime as dt

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from core.parsers import ERROR_TOO_DEEP
from partners.api import HasWriteKey

from .. import erasures
from ..models import Event
from ..services.ingest import MAX_BATCH, events_record
from ..services.visitors import visitor_erase, visitor_events_export
from ..visitors import InvalidVisitorId, visitor_hash

ERROR_NOT_A_BATCH = 'the body must be {"events": [...]}'
ERROR_EMPTY_BATCH = "the batch holds no events"
ERROR_BATCH_TOO_LARGE = f"a batch holds at most {MAX_BATCH} events"


class EventsJSONParser(JSONParser):
    """Plain JSON: text PostgreSQL cannot store (a NUL) is rejected per event by the checks, so
    one bad event does not cost the rest of its batch (the strict parser refuses whole bodies)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(ERROR_TOO_DEEP) from None


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


def _checked(visitor_id: str) -> str:
    try:
        visitor_hash(visitor_id)
    except InvalidVisitorId as exc:
        raise ValidationError({"visitor_id": [str(exc)]}) from None
    return visitor_id


class VisitorApi(APIView):
    """Erase a shopper: their events now, their share of derived lists at the next refresh."""

    # An explicit 200: drf-spectacular documents a DELETE's plain serializer as a bodiless 204.
    @extend_schema(
        responses={
            200: inline_serializer("VisitorErased", {"events_deleted": serializers.IntegerField()})
        }
    )
    def delete(self, request, visitor_id: str):
        return Response({"events_deleted": visitor_erase(visitor_id=_checked(visitor_id))})


_SHOWN = {
    "widget": serializers.CharField(),
    "source_sku": serializers.CharField(allow_null=True, help_text="the page's product"),
    "shown_sku": serializers.CharField(allow_null=True),
}


class VisitorExportApi(APIView):
    """A shopper's events (data portability), oldest first, and the A/B tests' log of what they
    were shown and clicked (the storefront's *Your data* download holds the same). Personal
    data: write keys only."""

    permission_classes = [HasWriteKey]

    @extend_schema(
        responses=inline_serializer(
            "VisitorExport",
            {
                "events": inline_serializer(
                    "ExportedEvent",
                    {
                        "event_id": serializers.CharField(),
                        "kind": serializers.CharField(),
                        "sku": serializers.CharField(
                            allow_null=True,
                            help_text="the product's SKU; of a product deleted since, the SKU "
                            "it had (null only when no record of it is left)",
                        ),
                        "occurred_at": serializers.DateTimeField(),
                        "order_id": serializers.CharField(),
                        "quantity": serializers.IntegerField(allow_null=True),
                        "unit_price": serializers.DecimalField(12, 2, allow_null=True),
                        "source": serializers.CharField(),
                    },
                    many=True,
                ),
                "impressions": inline_serializer(
                    "ExportedImpression",
                    {
                        **_SHOWN,
                        "position": serializers.IntegerField(),
                        "shown_at": serializers.DateTimeField(),
                    },
                    many=True,
                ),
                "clicks": inline_serializer(
                    "ExportedClick",
                    {**_SHOWN, "clicked_at": serializers.DateTimeField()},
                    many=True,
                ),
            },
        )
    )
    def get(self, request, visitor_id: str):
        visitor_id = _checked(visitor_id)
        events = visitor_events_export(visitor_id=visitor_id)
        for event in events:
            event["occurred_at"] = event["occurred_at"].isoformat()
            if event["unit_price"] is not None:
                event["unit_price"] = str(event["unit_price"])
        parts = erasures.visitor_exported(visitor=visitor_hash(visitor_id))
        return Response({"events": events, **{name: _texts(rows) for name, rows in parts.items()}})


def _texts(rows: list[dict]) -> list[dict]:
    """Times written as the events' are (isoformat keeps microseconds and "+00:00", where DRF's
    encoder would write "Z")."""
    return [
        {
            key: value.isoformat() if isinstance(value, dt.datetime) else value
            for key, value in row.items()
        }
        for row in rows
    ]
