"""Figures read from the databases and logs when Prometheus scrapes: the outbox backlog and
its oldest row's age per alias, failed deliveries retrying, dead letters, stream groups' lag;
each part adds its own (:func:`register`: the bus its backlog, streams their groups' lag, the
sagas app its instances by state). Read at
scrape time, they tell the truth even while the relay or the consumer is down."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

__all__ = ["DatabaseFigures", "register"]

logger = logging.getLogger(__name__)
Source = Callable[[], Iterable[GaugeMetricFamily]]
_sources: dict[str, Source] = {}


def register(name: str, source: Source) -> None:
    """Add ``source`` (a callable yielding metric families) to every scrape."""
    _sources[name] = source


class DatabaseFigures(Collector):
    def collect(self):
        failed = GaugeMetricFamily(
            "edn_metrics_source_up",
            "Whether a scrape-time source answered (1) or failed (0) on this scrape.",
            labels=["source"],
        )
        for name, source in list(_sources.items()):
            try:
                families = list(source())
            except Exception as error:  # a database away: the other figures still count
                logger.warning("metrics source %s failed: %r", name, error)
                failed.add_metric([name], 0)
                continue
            failed.add_metric([name], 1)
            yield from families
        yield failed
