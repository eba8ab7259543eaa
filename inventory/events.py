"""Integration events inventory publishes (schemas in inventory/schemas/), and the stock
requests of sagas it answers (a reply per request, written with the change it reports)."""

from uuid import UUID

from edn_core.bus.outbox import reply_all
from edn_core.bus.subscriptions import subscribe
from edn_core.cqrs import send
from edn_core.events import publishes, sends
from inventory import commands
from inventory.domain import ProductCreated, ProductUpdated, StockReleased, StockReserved

RESERVED, RESERVE_FAILED, RELEASED = (
    "v1.InventoryReserved",
    "v1.InventoryReserveFailed",
    "v1.InventoryReleased",
)
sends(RESERVED, RESERVE_FAILED, RELEASED, app="inventory")

TOPIC = "v1.ProductStockChanged"


def stock_changed(event) -> dict:
    return {"productId": str(event.aggregate_id), "amountAvailable": event.amount_available}


for _event_type in (ProductCreated, ProductUpdated, StockReserved, StockReleased):
    publishes(_event_type, topic=TOPIC)(stock_changed)


@subscribe("v1.InventoryReserveRequested", batch=True)
def reserve_stock_for_sagas(events) -> None:
    """A batch of requests: one load of the products, one save, one insert of the replies."""
    requests = [
        commands.StockRequest(
            reservation=e.data["reservation"],
            lines=[(UUID(line["productId"]), line["quantity"]) for line in e.data["lines"]],
        )
        for e in events
    ]
    answers = send(commands.ReserveStocks(requests=requests)).value_or_raise()
    replies = []
    for event, answer in zip(events, answers, strict=True):
        reply = {"reservation": event.data["reservation"], "lines": event.data["lines"]}
        if answer.ok:
            replies.append((event, RESERVED, reply))
        else:
            replies.append((event, RESERVE_FAILED, {**reply, "reason": answer.reason}))
    reply_all("inventory", replies)


@subscribe("v1.InventoryReleaseRequested", batch=True)
def release_stock_for_sagas(events) -> None:
    reservations = [e.data["reservation"] for e in events]
    send(commands.ReleaseStocks(reservations=reservations)).value_or_raise()
    reply_all(
        "inventory",
        [(e, RELEASED, {"reservation": r}) for e, r in zip(events, reservations, strict=True)],
    )


@subscribe("v1.OrderCancelled", batch=True)
def release_stock_of_cancelled_orders(events) -> None:
    """A cancelled order's stock goes back (its reservation is the order id), once."""
    reservations = [e.data["orderId"] for e in events]
    send(commands.ReleaseStocks(reservations=reservations)).value_or_raise()
