import pytest

from edn_core.bus.subscriptions import by_consumer, subscribe, subscriptions_for, unsubscribe


@pytest.fixture
def silent_inventory():
    """Inventory never answers reserve requests (its handler is not subscribed)."""
    (sub,) = subscriptions_for("v1.InventoryReserveRequested")
    unsubscribe(sub.consumer)
    yield sub
    subscribe(sub.topic, latest_wins=sub.latest_wins, app=sub.app_label, batch=sub.batch)(
        sub.handler
    )
    assert by_consumer(sub.consumer) is not None
