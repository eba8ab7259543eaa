"""HTTP side of an order's history: the order at a version or time, and its audit trail
(the DTOs of ``orders.api``'s ``retrieve`` and ``events``)."""

from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from edn_core.cqrs.dto import Rfc3339DateTimeField, StrictSerializer
from edn_core.cqrs.openapi import field_examples

__all__ = ["PAGING", "OrderAt", "OrderEventOut", "OrderEventPage"]


class OrderAt(StrictSerializer):
    version = serializers.IntegerField(
        min_value=1,
        max_value=2**31 - 1,
        required=False,
        help_text="The order at this version of its stream.",
    )
    asOf = Rfc3339DateTimeField(
        source="as_of",
        required=False,
        help_text="The order as it was then; with version, that version if recorded by then.",
    )


@field_examples(
    version=1,
    type="OrderPlaced",
    recordedAt="2026-12-01T10:00:00.123456Z",
    correlationId="0f8e2a3b-6c1d-4e5f-9a7b-8c9d0e1f2a3b",
    causationId=None,
    subject="demo",
)
class OrderEventOut(serializers.Serializer):
    version = serializers.IntegerField()
    type = serializers.CharField()
    recordedAt = serializers.DateTimeField(source="recorded_at")
    data = serializers.DictField()
    correlationId = serializers.CharField(source="metadata.correlation_id", allow_null=True)
    causationId = serializers.CharField(source="metadata.causation_id", allow_null=True)
    subject = serializers.CharField(source="metadata.subject", allow_null=True)


@field_examples(count=1, next=None, previous=None)
class OrderEventPage(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = OrderEventOut(many=True)


PAGING = [
    OpenApiParameter("page", {"type": "integer", "minimum": 1}, description="From 1."),
    OpenApiParameter("pageSize", {"type": "integer", "minimum": 1, "maximum": 200}),
]
