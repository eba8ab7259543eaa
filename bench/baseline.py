"""The baseline of bench/http_commands.py: a plain DRF ``ModelViewSet`` over ``CustomerRecord``.

Deliberately plain: a ``ModelSerializer`` over the flat model fields, the default
authentication, permission, parser and renderer classes from settings, no transaction of its
own, no domain model, no events. The model has no defaults for ``id`` and ``version``, so
``create`` supplies them.
"""

from uuid import uuid4

from rest_framework import serializers, viewsets

from customers.models import CustomerRecord


class PlainCustomerSerializer(serializers.ModelSerializer):
    class Meta:
        model = CustomerRecord
        fields = [
            "id",
            "version",
            "first_name",
            "last_name",
            "street",
            "city",
            "state",
            "country",
            "postal_code",
            "credit_limit",
            "credit_reserved",
        ]
        read_only_fields = ["id", "version", "credit_reserved"]

    def create(self, validated_data):
        return super().create({"id": uuid4(), "version": 1, **validated_data})


class PlainCustomerViewSet(viewsets.ModelViewSet):
    queryset = CustomerRecord.objects.all()
    serializer_class = PlainCustomerSerializer
