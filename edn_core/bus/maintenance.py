"""Housekeeping: inbox rows past their TTL and sent outbox rows past retention."""

from datetime import timedelta

from django.utils import timezone

from edn_core.bus.config import bus_config
from edn_core.bus.stores import all_stores

__all__ = ["cleanup"]


def cleanup(now=None) -> dict[str, dict[str, int]]:
    """Delete old inbox and sent outbox rows in every alias; return counts per alias.

    An inbox row only has to outlive the broker's redelivery window: after the TTL a
    duplicate of that event is no longer expected.
    """
    config, now = bus_config(), now or timezone.now()
    report = {}
    for store in all_stores():
        inbox, _ = (
            store.rows(store.inbox)
            .filter(processed_at__lt=now - timedelta(days=config.inbox_ttl_days))
            .delete()
        )
        sent, _ = (
            store.rows(store.outbox)
            .filter(sent_at__lt=now - timedelta(days=config.sent_retention_days))
            .delete()
        )
        report[store.alias] = {"inbox": inbox, "outbox": sent}
    return report
