"""HTTP side of orders: input/output DTOs, the command viewset and the query viewset."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound

from edn_core.cqrs.dto import (
    Rfc3339DateTimeField,
    StrictCharField,
    StrictDecimalField,
    StrictIntegerField,
    StrictSerializer,
    StrictUUIDField,
    UniqueItemsListField,
)
from edn_core.cqrs.openapi import field_examples, wrong_state
from edn_core.cqrs.viewsets import CommandViewSet, QueryViewSet
from orders import commands, queries
from orders.api_history import PAGING, OrderAt, OrderEventOut, OrderEventPage
from orders.domain import OrderState

# The examples of the document: Ada Lovelace of the demo data orders 3 Widgets at 7.50
ADDRESS = field_examples(
    street="12 St James's Square",
    city="London",
    state="London",
    country="UK",
    postalCode="SW1Y 4JH",
)
LINE = field_examples(
    productId="8a0e3b9c-6c5e-4b7a-9f55-2f0f7c1d1a01",
    productName="Widget",
    productPrice="7.50",
    quantity=3,
)
ORDER = field_examples(customerId="2b7c1c64-3f43-4c55-9a0f-1f6d3b2a9c01")


@ADDRESS
class OrderAddressIn(StrictSerializer):
    street = StrictCharField(max_length=200)
    city = StrictCharField(max_length=100)
    state = StrictCharField(max_length=100)
    country = StrictCharField(max_length=100)
    postalCode = StrictCharField(source="postal_code", max_length=20)


@LINE
class OrderItemIn(StrictSerializer):
    productId = StrictUUIDField(source="product_id")
    # Products carry no price (inventory keeps stock only): the client states the name and
    # the unit price it sold the line at, and the order keeps them as sent.
    productName = StrictCharField(
        source="product_name", max_length=200, help_text="As the customer saw it; kept as sent."
    )
    productPrice = StrictDecimalField(
        source="product_price",
        max_digits=12,
        decimal_places=2,
        min_value=0,
        help_text="The unit price agreed with the customer; no service checks it.",
    )
    quantity = StrictIntegerField(min_value=1, max_value=100_000)


@ORDER
class OrderIn(StrictSerializer):
    customerId = StrictUUIDField(source="customer_id")
    shippingAddress = OrderAddressIn(source="shipping_address")
    items = UniqueItemsListField(
        child=OrderItemIn(),
        min_length=1,
        max_length=100,
        help_text="One line per product: two lines with the same productId are refused (400).",
    )


@ADDRESS
class OrderAddressOut(serializers.Serializer):
    street = serializers.CharField()
    city = serializers.CharField()
    state = serializers.CharField()
    country = serializers.CharField()
    postalCode = serializers.CharField(source="postal_code")


@LINE
class OrderItemOut(serializers.Serializer):
    productId = serializers.UUIDField(source="product_id")
    productName = serializers.CharField(source="product_name")
    productPrice = serializers.DecimalField(source="product_price", max_digits=12, decimal_places=2)
    quantity = serializers.IntegerField()


@ORDER
@field_examples(
    id="6a4f2c1e-9d3b-4e57-8a10-3c2b1d0e9f77",
    state="Created",
    rejectionReason="",
    orderTotal="22.50",
)
class OrderOut(serializers.Serializer):
    id = serializers.UUIDField()
    customerId = serializers.UUIDField(source="customer_id")
    shippingAddress = OrderAddressOut(source="shipping_address")
    items = OrderItemOut(many=True)
    state = serializers.ChoiceField(choices=[s.value for s in OrderState])
    rejectionReason = serializers.CharField(source="rejection_reason")
    # 100 lines of 100,000 units at the largest price: 20 digits
    orderTotal = serializers.DecimalField(source="order_total", max_digits=20, decimal_places=2)


TRANSITION = {200: OrderOut, 409: wrong_state("order")}
PLACED = OpenApiResponse(
    OrderOut,
    description="Accepted: the order, Pending until the create-order saga makes it Created or "
    "Rejected (with a rejectionReason); Location names it.",
)


@extend_schema(tags=["orders"])
class OrderCommands(CommandViewSet):
    output_serializer_class = OrderOut
    detail_route = "orders-detail"

    @extend_schema(request=OrderIn, responses={202: PLACED})
    def create(self, request):
        """Place an order; answers 202 with Location while the order is processed."""
        data = self.read(OrderIn)
        return self.run(commands.PlaceOrder(**data), status_code=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses=TRANSITION)
    def ship(self, request, pk):
        """Ship a Created order; 409 in any other state."""
        return self.run(commands.ShipOrder(order_id=pk, expected_version=self.if_match()))

    @extend_schema(request=None, responses=TRANSITION)
    def cancel(self, request, pk):
        """Cancel an order that has not shipped; 409 otherwise."""
        return self.run(commands.CancelOrder(order_id=pk, expected_version=self.if_match()))


class OrderFilter(StrictSerializer):
    customerId = StrictUUIDField(source="customer_id", required=False)
    state = serializers.ChoiceField(choices=[s.value for s in OrderState], required=False)
    asOf = Rfc3339DateTimeField(
        source="as_of",
        required=False,
        help_text="The customer's orders as they were then; needs customerId (400 without).",
    )

    def validate(self, data):
        if "as_of" in data and "customer_id" not in data:
            raise serializers.ValidationError({"asOf": ["asOf needs a customerId."]})
        return data


@extend_schema(tags=["orders"])
class OrderQueries(QueryViewSet):
    output_serializer_class = OrderOut
    filter_serializer_class = OrderFilter

    def select_many(self, filters):
        if "as_of" in filters:
            return queries.list_orders_as_of(
                filters["as_of"], customer_id=filters["customer_id"], state=filters.get("state")
            )
        return queries.list_orders(
            customer_id=filters.get("customer_id"), state=filters.get("state")
        )

    def select_one(self, pk):
        at = self.query(OrderAt)
        return queries.get_order(pk, version=at.get("version"), as_of=at.get("as_of"))

    def list(self, request, *args, **kwargs):
        """List orders, newest first; filter by ``customerId`` and ``state``; with ``asOf``
        (and a ``customerId``), the customer's orders as they were at that time."""
        return super().list(request, *args, **kwargs)

    @extend_schema(parameters=[OrderAt])
    def retrieve(self, request, *args, **kwargs):
        """Get one order with its ETag (its stream's version); If-None-Match answers 304 when
        unchanged; ``version`` or ``asOf`` give the order as it was then."""
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(parameters=PAGING, responses={200: OrderEventPage})
    def events(self, request, pk):
        """The order's audit trail: its events, oldest first, paginated."""
        self.query(StrictSerializer)
        page = self.paginate_queryset(queries.order_history(pk))
        if not page and not queries.get_order(pk):
            raise NotFound(f"No order with id {pk}.")
        return self.get_paginated_response(OrderEventOut(queries.decode(page), many=True).data)
