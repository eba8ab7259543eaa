"""The order statistics read models, kept by the stream processors (``analytics.streams``)
through the writers in ``analytics.commands`` and read by ``analytics.queries``.

Each row is one window's figures **from one source partition**: a processor keeps its window
state per partition of the stream it reads (docs/streams-windows-draft.md, "limits"), so the
figures of one minute may be spread over several rows, which readers add up. ``final`` says
the window has closed (its row is never changed again); until then it is revised as orders
arrive.
"""

from django.db import models

__all__ = ["CustomerSession", "OrderMinute", "ProductMinute"]

MONEY = {"max_digits": 20, "decimal_places": 2}


class WindowFigures(models.Model):
    """What every per-minute row holds: a partition's share of one minute."""

    partition = models.PositiveIntegerField(help_text="the source stream partition")
    window_start = models.DateTimeField(help_text="inclusive")
    window_end = models.DateTimeField(help_text="exclusive")
    orders = models.PositiveIntegerField(default=0)
    units = models.BigIntegerField(default=0)
    revenue = models.DecimalField(default=0, **MONEY)
    final = models.BooleanField(default=False, help_text="the window closed")

    class Meta:
        abstract = True


class OrderMinute(WindowFigures):
    """Orders placed, units and revenue in one minute (a partition's share)."""

    class Meta:
        db_table = "analytics_order_minute"
        ordering = ("window_start", "partition")
        constraints = [
            models.UniqueConstraint(
                fields=["window_start", "partition"], name="analytics_order_minute_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.window_start:%Y-%m-%d %H:%M} [{self.partition}]: {self.orders} orders"


class ProductMinute(WindowFigures):
    """One product's orders, units and revenue in one minute (a partition's share)."""

    product_id = models.UUIDField()

    class Meta:
        db_table = "analytics_product_minute"
        ordering = ("product_id", "window_start", "partition")
        constraints = [
            models.UniqueConstraint(
                fields=["product_id", "window_start", "partition"],
                name="analytics_product_minute_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.product_id} {self.window_start:%Y-%m-%d %H:%M} [{self.partition}]"


class CustomerSession(models.Model):
    """A customer's burst of orders: consecutive orders at most 30 minutes apart.

    ``session_start``/``session_end`` are the times of its first and last order (both
    inclusive). An order that bridges two sessions merges them: the processor then deletes
    the rows it replaced.
    """

    partition = models.PositiveIntegerField(help_text="the source stream partition")
    customer_id = models.UUIDField()
    session_start = models.DateTimeField()
    session_end = models.DateTimeField()
    orders = models.PositiveIntegerField(default=0)
    final = models.BooleanField(default=False, help_text="the session closed")

    class Meta:
        db_table = "analytics_customer_session"
        ordering = ("customer_id", "session_start")
        constraints = [
            models.UniqueConstraint(
                fields=["customer_id", "session_start", "partition"],
                name="analytics_customer_session_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} from {self.session_start:%Y-%m-%d %H:%M}: {self.orders}"
