"""Stream groups' lag as metrics, read at each scrape (:mod:`edn_core.observability.collectors`):
how many entries each group has not processed yet, and the age of the oldest of them."""

from __future__ import annotations

from prometheus_client.core import GaugeMetricFamily

from edn_core.observability import collectors
from edn_core.streams.operations import standing

__all__ = ["figures"]


def figures() -> list[GaugeMetricFamily]:
    behind = GaugeMetricFamily(
        "edn_stream_group_lag_messages",
        "Entries of a stream a group has not processed yet.",
        labels=["stream", "group"],
    )
    age = GaugeMetricFamily(
        "edn_stream_group_lag_seconds",
        "Age of the oldest entry a group has not processed yet (0: none).",
        labels=["stream", "group"],
    )
    for group in standing():
        behind.add_metric([group.stream, group.group], group.behind)
        seconds = group.oldest_age.total_seconds() if group.oldest_age is not None else 0.0
        age.add_metric([group.stream, group.group], max(seconds, 0.0))
    return [behind, age]


collectors.register("streams", figures)
