"""Integration events inventory publishes (schemas in inventory/schemas/), and the stock
requests of sagas it answers (a reply per request, written with the change it reports)."""

from uuid import UUID

from edn_core.bus.outbox import send
from edn_core.bus.subscriptions import subscribe
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


@subscribe("v1.InventoryReserveRequested")
def reserve_stock_for_saga(event) -> None:
    request = event.data
    lines = [(UUID(line["productId"]), line["quantity"]) for line in request["lines"]]
    outcome = commands.reserve_stock(
        commands.ReserveStock(reservation=request["reservation"], lines=lines)
    )
    reply = {"reservation": request["reservation"], "lines": request["lines"]}
    if outcome.ok:
        send("inventory", RESERVED, reply, key=event.aggregate_id)
    else:
        send(
            "inventory", RESERVE_FAILED, {**reply, "reason": outcome.reason}, key=event.aggregate_id
        )


@subscribe("v1.InventoryReleaseRequested")
def release_stock_for_saga(event) -> None:
    reservation = event.data["reservation"]
    commands.release_stock(commands.ReleaseStock(reservation=reservation))
    send("inventory", RELEASED, {"reservation": reservation}, key=event.aggregate_id)


@subscribe("v1.OrderCancelled")
def release_stock_of_cancelled_order(event) -> None:
    """A cancelled order's stock goes back (its reservation is the order id), once."""
    commands.release_stock(commands.ReleaseStock(reservation=event.data["orderId"]))
