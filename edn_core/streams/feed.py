"""The stream feed: integration events of the configured topics appended to their streams.

A service app hosts the feed by calling ``feed_streams(app_label)`` in its events.py: for every
topic of ``EDN_STREAMS`` (``edn_core.streams.conf``) it subscribes a handler, so the bus
delivers it each such event like any other subscription, in a transaction on the app's alias
with the inbox row. The handler appends one entry per event to each stream the topic is fed
to (``entry_of``): keyed by the aggregate id, the value ``{"id", "type", "time", "sequence",
"data"}``, the trace and correlation ids as headers, and the event's id as the entry's id.

Exactly once:

- the database log appends in the delivery's own transaction: the entry commits with the
  inbox row or not at all, and a delivery handled already is not handled again;
- a broker log appends at once; if the transaction then fails (a crash, a lost connection),
  the bus delivers the event again and the append finds the entry's id: nothing is added
  (within the dedup window, ``EDN_STREAMS_DEDUP_WINDOW``).

Order per key: the bus hands a subscriber the events of an aggregate in order, and several
subscriptions of one delivery batch in the batch's order when they are single-event ones (a
batch subscription gets its events together, which would put a topic's events ahead of an
earlier event of another topic): so each topic's handler takes one event and appends it on
its own. A delivery retried after a failure is appended when it succeeds, after later events
of its aggregate: entries carry the aggregate's ``sequence`` so that a reader can tell.

The database log's appends of one delivery batch share its transaction: before each, the feed
locks its database streams (their first partition's row, in name order), so that concurrent
delivery transactions take turns instead of locking partitions in opposite orders. The feed's
streams are the feed's alone: nothing else appends to them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import datetime

from django.conf import settings
from django.core.signals import setting_changed
from django.utils import timezone

from edn_core.bus.subscriptions import subscribe, subscriptions
from edn_core.envelope import IntegrationEvent
from edn_core.streams.conf import StreamConfig, streams_settings
from edn_core.streams.database import DatabaseLog
from edn_core.streams.port import NewEntry, StreamLog, UnknownStream

__all__ = [
    "append_creating",
    "consumer_name",
    "entry_of",
    "feed_streams",
    "feeding_apps",
    "log_for",
    "trim_hosted_streams",
    "trim_streams",
]

_logs: dict[tuple[str, str], StreamLog] = {}
_lock = threading.Lock()


def log_for(app_label: str, stream: str | None = None) -> StreamLog:
    """The log ``stream`` is on, built once per process and kind: a stream of ``EDN_STREAMS``
    on its configured log; another named stream is the app's own, in its database log (one
    an app re-keys into, say); no stream given: ``EDN_STREAMS_LOG``. A database log is on
    ``app_label``'s alias."""
    config = streams_settings()
    found = config.streams.get(stream) if stream else None
    kind = found.log if found else "database" if stream else config.default_log
    with _lock:
        log = _logs.get((app_label, kind))
        if log is None:
            options = dict(config.log_options.get(kind, {}))
            if kind != "database":  # a deployment's streams apart from another's on one server
                options.setdefault("prefix", _namespaced(kind))
            if kind == "database":
                log = DatabaseLog(app_label, **options)
            elif kind == "redis":
                from edn_core.streams.redis import RedisLog

                log = RedisLog(config.redis_url, dedup_window=config.dedup_window, **options)
            else:
                from edn_core.streams.nats import NatsLog

                log = NatsLog(config.nats_url, dedup_window=config.dedup_window, **options)
            _logs[(app_label, kind)] = log
    return log


def _namespaced(kind: str) -> str:
    """The key prefix (Redis) or subject prefix (NATS) of ``EDN_BROKER_NAMESPACE``."""
    namespace = getattr(settings, "EDN_BROKER_NAMESPACE", "edn") or "edn"
    return f"{namespace}:streams:" if kind == "redis" else namespace


def entry_of(event: IntegrationEvent) -> NewEntry:
    """The stream entry of ``event``."""
    headers = {"traceparent": event.traceparent, "correlationid": event.correlation_id}
    if event.causation_id:
        headers["causationid"] = event.causation_id
    value = {
        "id": event.id,
        "type": event.topic,
        "time": event.time.isoformat().replace("+00:00", "Z"),
        "sequence": event.sequence,
        "data": event.data,
    }
    return NewEntry(event.aggregate_id, value, {k: v for k, v in headers.items() if v}, event.id)


def consumer_name(topic: str) -> str:
    """The name of the feed's handler of ``topic`` (its inbox rows say ``<app>.<name>``)."""
    return "stream_feed_" + topic.replace(".", "_")


def feed_streams(app_label: str, streams: Iterable[str] | None = None) -> list[str]:
    """Feed the configured streams (or those named) from the events ``app_label`` receives:
    subscribe a handler of ``app_label`` to each of their topics. Returns the consumers
    (``<app>.stream_feed_<topic>``). Call it once, from the app's events.py."""
    config = streams_settings()
    names = sorted(config.streams) if streams is None else sorted(set(streams))
    if unknown := [name for name in names if name not in config.streams]:
        raise LookupError(f"streams {unknown} are not in EDN_STREAMS {sorted(config.streams)}")
    chosen = [config.streams[name] for name in names]
    held = [s.name for s in chosen if s.log == "database"]
    consumers = []
    for topic in sorted({topic for stream in chosen for topic in stream.topics}):
        targets = [stream for stream in chosen if topic in stream.topics]
        handler = _handler(app_label, topic, targets, held)
        subscribe(topic, app=app_label)(handler)
        consumers.append(f"{app_label}.{handler.__name__}")
    return consumers


def _handler(app_label: str, topic: str, targets: list[StreamConfig], held: list[str]):
    def handle(event: IntegrationEvent) -> None:
        entry, logs = entry_of(event), [log_for(app_label, s.name) for s in targets]
        if database := next((log for log in logs if isinstance(log, DatabaseLog)), None):
            _hold(database, held)
        for stream, log in zip(targets, logs, strict=True):
            append_creating(log, stream.name, stream.partitions, [entry])

    handle.__name__ = handle.__qualname__ = consumer_name(topic)
    handle.__doc__ = f"Append {topic} to {[s.name for s in targets]} (the stream feed)."
    return handle


def _hold(log: DatabaseLog, streams: list[str]) -> None:
    """Lock ``streams`` (their first partition's row, in name order) until the delivery's
    transaction ends (PostgreSQL; SQLite's transactions hold the whole database already)."""
    rows = log.definitions.select_for_update().filter(stream__in=streams, partition=0)
    list(rows.order_by("stream").values_list("id", flat=True))


def append_creating(log: StreamLog, stream: str, partitions: int, entries) -> list:
    """Append ``entries`` to ``stream``, creating it with ``partitions`` on its first ones."""
    try:
        return log.append(stream, entries)
    except UnknownStream:
        log.ensure(stream, partitions)
        return log.append(stream, entries)


def trim_streams(app_label: str, *, now: datetime | None = None) -> dict[str, int]:
    """Retention: trim every configured stream that has one; ``{stream: entries removed}``."""
    now = now or timezone.now()
    removed = {}
    for stream in streams_settings().streams.values():
        if stream.retention is not None:
            log = log_for(app_label, stream.name)
            try:
                count = log.trim(stream.name, before=now - stream.retention)
            except UnknownStream:
                count = 0
            removed[stream.name] = count
    return removed


def feeding_apps() -> list[str]:
    """The apps whose stream feed this process runs (``feed_streams`` subscribed them)."""
    return sorted({s.app_label for s in subscriptions() if s.handler.__module__ == __name__})


def trim_hosted_streams() -> dict[str, int]:
    """Retention of every stream fed in this process (the bus workers run it hourly)."""
    removed: dict[str, int] = {}
    for app_label in feeding_apps():
        removed.update(trim_streams(app_label))
    return removed


def _forget(**kwargs) -> None:
    with _lock:
        logs = list(_logs.values())
        _logs.clear()
    for log in logs:
        log.close()


setting_changed.connect(_forget, dispatch_uid="edn-streams-logs")
