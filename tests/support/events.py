"""Integration events as another service would send them, for tests that deliver by hand."""

import uuid

from django.utils import timezone

from edn_core import tracing
from edn_core.events import IntegrationEvent

__all__ = ["address_updated"]


def address_updated(customer_id, address: dict, *, source: str = "/customers") -> IntegrationEvent:
    """``v1.CustomerAddressUpdated`` of ``customer_id`` (its second event) moving it to
    ``address`` (the event's camelCase fields), in a new trace."""
    return IntegrationEvent(
        id=str(uuid.uuid4()),
        topic="v1.CustomerAddressUpdated",
        source=source,
        time=timezone.now(),
        aggregate_id=str(customer_id),
        sequence=2,
        correlation_id="c",
        causation_id=None,
        traceparent=tracing.child_traceparent(None),
        data={"customerId": str(customer_id), "shippingAddress": address},
    )
