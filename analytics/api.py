"""HTTP side of analytics: the order statistics, read-only (a query viewset, no commands).

``GET /api/stats/orders?window=PT5M&from=<RFC 3339>&to=<RFC 3339>`` and
``GET /api/stats/products/{productId}?...`` answer ``{"results": [...]}``: every window of
the range, oldest first, with its orders, units and revenue (zeros included).
"""

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response

from analytics import domain, queries
from edn_core.cqrs.dto import Rfc3339DateTimeField, StrictSerializer
from edn_core.cqrs.viewsets import QueryViewSet
from edn_core.domain import ValidationFailed


@extend_schema_field(
    {
        "type": "string",
        "pattern": domain.WINDOW_PATTERN,
        "default": domain.DEFAULT_WINDOW,
        "example": "PT5M",
    }
)
class WindowField(serializers.CharField):
    """An ISO 8601 duration of whole minutes, one minute to one day (see ``domain``)."""

    default_error_messages = {"window": domain.WINDOW_HELP}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("window")
        try:
            return domain.window_minutes(data)
        except ValidationFailed:
            self.fail("window")


class StatsQuery(StrictSerializer):
    window = WindowField(
        required=False,
        help_text="The window size: PT1M (the default) to PT1440M, PT1H to PT24H, or P1D.",
    )
    # "from" is a Python keyword: the field is declared through the class namespace.
    vars()["from"] = Rfc3339DateTimeField(
        source="start", help_text="The range's start (inclusive), with an offset."
    )
    to = Rfc3339DateTimeField(
        source="end",
        help_text=(
            f"The range's end (exclusive), after from: at most {domain.MAX_RANGE.days} days "
            f"and {domain.MAX_WINDOWS} windows after it (400 otherwise)."
        ),
    )

    def validate(self, data):
        try:
            minutes = data.get("window") or domain.window_minutes(domain.DEFAULT_WINDOW)
            return domain.WindowRange(data["start"], data["end"], minutes)
        except ValidationFailed as refused:
            raise serializers.ValidationError(refused.errors) from None


class WindowOut(serializers.Serializer):
    windowStart = serializers.DateTimeField(source="start")
    windowEnd = serializers.DateTimeField(source="end")
    orders = serializers.IntegerField(min_value=0)
    units = serializers.IntegerField(min_value=0)
    revenue = serializers.DecimalField(max_digits=24, decimal_places=2)


class StatsOut(serializers.Serializer):
    results = WindowOut(many=True)


@extend_schema(tags=["analytics"], parameters=[StatsQuery], responses={200: StatsOut})
class StatsQueries(QueryViewSet):
    output_serializer_class = StatsOut

    def span(self) -> domain.WindowRange:
        """The range of windows the query string asks for (400 when it is not one)."""
        query = StatsQuery(data=self.request.query_params.dict())
        query.is_valid(raise_exception=True)
        return query.validated_data

    def orders(self, request):
        """Orders placed, units and revenue (a decimal string) in every window of the range,
        oldest first, windows without orders included. Windows are aligned to the epoch (a
        window that divides a day starts at UTC midnight); the first holds ``from``."""
        return Response(StatsOut({"results": queries.order_windows(self.span())}).data)

    def product(self, request, productId):
        """The same for one product (zeros for a product never ordered)."""
        windows = queries.product_windows(productId, self.span())
        return Response(StatsOut({"results": windows}).data)
