"""Integration events inventory publishes (schemas in inventory/schemas/)."""

from edn_core.events import publishes
from inventory.domain import ProductCreated, ProductUpdated, StockReleased, StockReserved

TOPIC = "v1.ProductStockChanged"


def stock_changed(event) -> dict:
    return {"productId": str(event.aggregate_id), "amountAvailable": event.amount_available}


for _event_type in (ProductCreated, ProductUpdated, StockReserved, StockReleased):
    publishes(_event_type, topic=TOPIC)(stock_changed)
