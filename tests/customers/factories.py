from decimal import Decimal

import factory

from customers import commands
from edn_core.cqrs import send


class AddressFactory(factory.DictFactory):
    street = factory.Faker("street_address")
    city = factory.Faker("city")
    state = factory.Faker("state")
    country = factory.Faker("country_code")
    postal_code = factory.Faker("postcode")


class CreateCustomerFactory(factory.Factory):
    """Builds a CreateCustomer command; ``create()`` sends it and returns the aggregate."""

    class Meta:
        model = commands.CreateCustomer

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    shipping_address = factory.SubFactory(AddressFactory)
    credit_limit = Decimal("100.00")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        result = send(model_class(*args, **kwargs))
        assert result.accepted, result
        return result.value


def customer_payload(**overrides) -> dict:
    """A valid POST/PUT body in the API's camelCase."""
    body = {
        "firstName": "Ada",
        "lastName": "Lovelace",
        "shippingAddress": {
            "street": "12 St James's Square",
            "city": "London",
            "state": "London",
            "country": "UK",
            "postalCode": "SW1Y 4JH",
        },
        "creditLimit": "100.00",
    }
    body.update(overrides)
    return body
