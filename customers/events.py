"""Integration events customers publishes (schemas in customers/schemas/)."""

from customers.domain import CustomerAddressUpdated
from edn_core.events import publishes


@publishes(CustomerAddressUpdated, topic="v1.CustomerAddressUpdated")
def address_updated(event: CustomerAddressUpdated) -> dict:
    address = event.shipping_address
    return {
        "customerId": str(event.aggregate_id),
        "shippingAddress": {
            "street": address.street,
            "city": address.city,
            "state": address.state,
            "country": address.country,
            "postalCode": address.postal_code,
        },
    }
