"""A shopper's rights through the partner API: export what is kept about them, erase it."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from partners.api import HasWriteKey

from .. import erasures
from ..services.visitors import export_json, visitor_erase, visitor_events_export
from ..visitors import InvalidVisitorId, visitor_hash


def _checked(visitor_id: str) -> str:
    try:
        visitor_hash(visitor_id)
    except InvalidVisitorId as exc:
        raise ValidationError({"visitor_id": [str(exc)]}) from None
    return visitor_id


class VisitorApi(APIView):
    """Erase a shopper: their events now, their share of derived lists at their next full
    rebuild, normally within a minute."""

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
        parts = {
            "events": visitor_events_export(visitor_id=visitor_id),
            **erasures.visitor_exported(visitor=visitor_hash(visitor_id)),
        }
        return Response({name: export_json(rows) for name, rows in parts.items()})
