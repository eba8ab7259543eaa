"""HTTP side of inventory: input/output DTOs, the command viewset and the query viewset."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status

from edn_core.cqrs.dto import StrictCharField, StrictIntegerField, StrictSerializer
from edn_core.cqrs.openapi import field_examples
from edn_core.cqrs.viewsets import CommandViewSet, QueryViewSet
from inventory import commands, queries
from inventory.domain import DESCRIPTION_MAX


# The examples of the document: the Widget of the demo data (inventory/demo.py)
@field_examples(description="Widget", amountAvailable=9)
class ProductIn(StrictSerializer):
    description = StrictCharField(max_length=DESCRIPTION_MAX)
    amountAvailable = StrictIntegerField(
        source="amount_available", min_value=0, max_value=2_000_000_000
    )


@field_examples(id="8a0e3b9c-6c5e-4b7a-9f55-2f0f7c1d1a01", description="Widget", amountAvailable=6)
class ProductOut(serializers.Serializer):
    id = serializers.UUIDField()
    description = serializers.CharField()
    amountAvailable = serializers.IntegerField(source="amount_available")


class ProductFilter(StrictSerializer):
    description = StrictCharField(required=False, max_length=DESCRIPTION_MAX)


@extend_schema(tags=["inventory"])
class ProductCommands(CommandViewSet):
    output_serializer_class = ProductOut
    detail_route = "inventory-detail"

    @extend_schema(request=ProductIn, responses={201: ProductOut})
    def create(self, request):
        """Add a product with its stock; answers 201 with Location and ETag."""
        data = self.read(ProductIn)
        return self.run(commands.CreateProduct(**data), status_code=status.HTTP_201_CREATED)

    @extend_schema(request=ProductIn, responses={200: ProductOut})
    def update(self, request, pk):
        """Replace a product's description and stock; needs If-Match."""
        version = self.if_match()
        data = self.read(ProductIn)
        return self.run(commands.UpdateProduct(product_id=pk, expected_version=version, **data))


@extend_schema(tags=["inventory"])
class ProductQueries(QueryViewSet):
    output_serializer_class = ProductOut
    filter_serializer_class = ProductFilter

    def select_many(self, filters):
        return queries.list_products(description=filters.get("description"))

    def select_one(self, pk):
        return queries.get_product(pk)

    def list(self, request, *args, **kwargs):
        """List products, paginated; ``description`` filters by text."""
        return super().list(request, *args, **kwargs)

    def retrieve(self, request, *args, **kwargs):
        """Get one product with its ETag; If-None-Match answers 304 when unchanged."""
        return super().retrieve(request, *args, **kwargs)
