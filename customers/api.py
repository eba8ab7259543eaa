"""HTTP side of customers: input/output DTOs, the command viewset and the query viewset."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status

from customers import commands, queries
from customers.domain import NAME_MAX
from edn_core.cqrs.dto import (
    StrictCharField,
    StrictDecimalField,
    StrictSerializer,
    optional_fields,
)
from edn_core.cqrs.openapi import field_examples
from edn_core.cqrs.viewsets import CommandViewSet, QueryViewSet

# The examples of the document: Ada Lovelace of the demo data (customers/demo.py)
ADDRESS = field_examples(
    street="12 St James's Square",
    city="London",
    state="London",
    country="UK",
    postalCode="SW1Y 4JH",
)
CUSTOMER = field_examples(firstName="Ada", lastName="Lovelace", creditLimit="100.00")


@ADDRESS
class CustomerAddressIn(StrictSerializer):
    street = StrictCharField(max_length=200)
    city = StrictCharField(max_length=100)
    state = StrictCharField(max_length=100)
    country = StrictCharField(max_length=100)
    postalCode = StrictCharField(source="postal_code", max_length=20)


@CUSTOMER
class CustomerIn(StrictSerializer):
    firstName = StrictCharField(source="first_name", max_length=NAME_MAX)
    lastName = StrictCharField(source="last_name", max_length=NAME_MAX)
    shippingAddress = CustomerAddressIn(source="shipping_address")
    creditLimit = StrictDecimalField(
        source="credit_limit", max_digits=12, decimal_places=2, min_value=0
    )


CustomerChanges = optional_fields(CustomerIn, "CustomerChanges")


@ADDRESS
class CustomerAddressOut(serializers.Serializer):
    street = serializers.CharField()
    city = serializers.CharField()
    state = serializers.CharField()
    country = serializers.CharField()
    postalCode = serializers.CharField(source="postal_code")


@CUSTOMER
@field_examples(id="2b7c1c64-3f43-4c55-9a0f-1f6d3b2a9c01", creditAvailable="77.50")
class CustomerOut(serializers.Serializer):
    id = serializers.UUIDField()
    firstName = serializers.CharField(source="first_name")
    lastName = serializers.CharField(source="last_name")
    shippingAddress = CustomerAddressOut(source="shipping_address")
    creditLimit = serializers.DecimalField(source="credit_limit", max_digits=12, decimal_places=2)
    creditAvailable = serializers.DecimalField(
        source="credit_available", max_digits=12, decimal_places=2
    )


class CustomerFilter(StrictSerializer):
    name = StrictCharField(required=False, max_length=NAME_MAX, help_text="first or last name")


CREDIT_RESERVED = OpenApiResponse(
    description="Open orders hold credit: more than the new limit, or any for a delete."
)


@extend_schema(tags=["customers"])
class CustomerCommands(CommandViewSet):
    output_serializer_class = CustomerOut
    detail_route = "customers-detail"

    @extend_schema(request=CustomerIn, responses={201: CustomerOut})
    def create(self, request):
        """Create a customer; answers 201 with Location and ETag."""
        data = self.read(CustomerIn)
        return self.run(commands.CreateCustomer(**data), status_code=status.HTTP_201_CREATED)

    @extend_schema(request=CustomerIn, responses={200: CustomerOut, 409: CREDIT_RESERVED})
    def update(self, request, pk):
        """Replace a customer's details; needs If-Match with the current ETag."""
        version = self.if_match()
        data = self.read(CustomerIn)
        return self.run(commands.UpdateCustomer(customer_id=pk, expected_version=version, **data))

    @extend_schema(request=CustomerChanges, responses={200: CustomerOut, 409: CREDIT_RESERVED})
    def partial_update(self, request, pk):
        """Change some of a customer's details (address parts merge); needs If-Match."""
        version = self.if_match()
        data = self.read(CustomerChanges)
        return self.run(commands.UpdateCustomer(customer_id=pk, expected_version=version, **data))

    @extend_schema(responses={204: None, 409: CREDIT_RESERVED})
    def destroy(self, request, pk):
        """Delete a customer with no reserved credit; needs If-Match."""
        command = commands.DeleteCustomer(customer_id=pk, expected_version=self.if_match())
        return self.run(command, status_code=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["customers"])
class CustomerQueries(QueryViewSet):
    output_serializer_class = CustomerOut
    filter_serializer_class = CustomerFilter

    def select_many(self, filters):
        return queries.list_customers(name=filters.get("name"))

    def select_one(self, pk):
        return queries.get_customer(pk)

    def retrieve(self, request, *args, **kwargs):
        """Get one customer with its ETag; If-None-Match answers 304 when unchanged."""
        return super().retrieve(request, *args, **kwargs)

    def list(self, request, *args, **kwargs):
        """List customers by name, paginated; ``name`` filters on first or last name."""
        return super().list(request, *args, **kwargs)
