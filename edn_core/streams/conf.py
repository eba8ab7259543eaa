"""Stream settings, typed, checked and read once: :func:`streams_settings`.

``EDN_STREAMS`` names the streams that integration events are fed to (``feed``)::

    EDN_STREAMS = {
        "orders": {
            "topics": ["v1.OrderPlaced", "v1.OrderCancelled"],  # required, one at least
            "partitions": 8,        # fixed for good once the stream exists (default 8)
            "log": "database",      # "database", "redis" or "nats" (default: EDN_STREAMS_LOG)
            "retention": "P7D",     # ISO 8601 duration entries are kept (default: for good)
        },
    }

``EDN_STREAMS_LOG`` is the log of the streams that name none, ``database`` by default (the
service app's alias: zero services in development). The brokers: ``EDN_STREAMS_REDIS_URL``
(else ``REDIS_URL``) and ``EDN_STREAMS_NATS_URL`` (else ``NATS_URL``), required by a stream
on them; ``EDN_STREAMS_DEDUP_WINDOW`` (ISO 8601, ``P1D``): how long they remember entry ids;
``EDN_STREAMS_LOG_OPTIONS``: more arguments of each log's constructor by kind
(``{"redis": {"prefix": "edn:streams:"}, "nats": {"replicas": 3}}``).
A setting that is wrong raises ``ImproperlyConfigured`` naming every problem. Any change of a
setting (``override_settings`` in tests) drops what was read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from types import MappingProxyType
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.utils.dateparse import parse_duration

from edn_core.envelope import TOPIC

__all__ = ["LOGS", "StreamConfig", "StreamsSettings", "streams_settings"]

LOGS = ("database", "redis", "nats")
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}\Z")
KEYS = {"topics", "partitions", "log", "retention"}


@dataclass(frozen=True)
class StreamConfig:
    """One stream of ``EDN_STREAMS``."""

    name: str
    topics: tuple[str, ...]
    partitions: int = 8
    log: str = "database"
    retention: timedelta | None = None  # None: kept until trimmed by hand


@dataclass(frozen=True)
class StreamsSettings:
    streams: Mapping[str, StreamConfig]  # by name
    default_log: str  # EDN_STREAMS_LOG
    redis_url: str
    nats_url: str
    dedup_window: timedelta
    log_options: Mapping[str, Mapping[str, Any]]  # by log kind

    def streams_of(self, topic: str) -> list[StreamConfig]:
        """The streams ``topic`` is fed to, by name."""
        return [s for _, s in sorted(self.streams.items()) if topic in s.topics]


@cache
def streams_settings() -> StreamsSettings:
    """The stream settings (read on first use after any setting changed)."""
    problems: list[str] = []
    streams = {}
    default_log = _setting("EDN_STREAMS_LOG") or "database"
    if default_log not in LOGS:
        problems.append(f"EDN_STREAMS_LOG must be one of {LOGS}, not {default_log!r}")
        default_log = "database"
    given = getattr(settings, "EDN_STREAMS", None) or {}
    if not isinstance(given, Mapping):
        problems.append(f"EDN_STREAMS must be a dict of streams by name, not {given!r}")
        given = {}
    for name, options in given.items():
        found = _stream(name, options, default_log, problems)
        if found is not None:
            streams[name] = found
    redis_url = _setting("EDN_STREAMS_REDIS_URL") or _setting("REDIS_URL")
    nats_url = _setting("EDN_STREAMS_NATS_URL") or _setting("NATS_URL")
    for kind, url, names in (
        ("redis", redis_url, "EDN_STREAMS_REDIS_URL or REDIS_URL"),
        ("nats", nats_url, "EDN_STREAMS_NATS_URL or NATS_URL"),
    ):
        users = sorted(n for n, s in streams.items() if s.log == kind)
        if (users or default_log == kind) and not url:
            who = f"streams {users}" if users else "EDN_STREAMS_LOG"
            problems.append(f"{who} on {kind}: set {names}")
    window = _duration(
        _setting("EDN_STREAMS_DEDUP_WINDOW") or "P1D", "EDN_STREAMS_DEDUP_WINDOW", problems
    )
    options = getattr(settings, "EDN_STREAMS_LOG_OPTIONS", None) or {}
    if not isinstance(options, Mapping) or any(
        kind not in LOGS or not isinstance(value, Mapping) for kind, value in options.items()
    ):
        problems.append(
            f"EDN_STREAMS_LOG_OPTIONS must map kinds of log {LOGS} to dicts: {options!r}"
        )
        options = {}
    if problems:
        raise ImproperlyConfigured("stream settings: " + "; ".join(problems))
    return StreamsSettings(
        streams=MappingProxyType(streams),
        default_log=default_log,
        redis_url=redis_url,
        nats_url=nats_url,
        dedup_window=window or timedelta(days=1),
        log_options=MappingProxyType({k: MappingProxyType(dict(v)) for k, v in options.items()}),
    )


def _stream(name: Any, options: Any, default_log: str, problems: list[str]) -> StreamConfig | None:
    """The stream ``name`` of ``EDN_STREAMS``, or None with its problems added."""
    before = len(problems)
    if not isinstance(name, str) or not NAME.match(name):
        problems.append(f"stream name {name!r}: letters, digits, '_', '.', '-' (100 at most)")
    if not isinstance(options, Mapping):
        problems.append(f"stream {name!r}: a dict of {sorted(KEYS)}, not {options!r}")
        return None
    if unknown := sorted(set(options) - KEYS):
        problems.append(f"stream {name!r}: unknown keys {unknown} (known: {sorted(KEYS)})")
    topics = options.get("topics")
    if isinstance(topics, str) or not isinstance(topics, list | tuple) or not topics:
        problems.append(f"stream {name!r}: 'topics' must be a non-empty list, not {topics!r}")
        topics = ()
    for topic in topics:
        if not isinstance(topic, str) or not TOPIC.match(topic):
            problems.append(f"stream {name!r}: topic {topic!r} must look like v1.OrderPlaced")
    if len(set(topics)) != len(topics):
        problems.append(f"stream {name!r}: a topic is listed twice in {list(topics)}")
    partitions = options.get("partitions", 8)
    if not isinstance(partitions, int) or isinstance(partitions, bool) or partitions < 1:
        problems.append(f"stream {name!r}: 'partitions' must be a whole number >= 1")
    log = options.get("log", default_log)
    if log not in LOGS:
        problems.append(f"stream {name!r}: 'log' must be one of {LOGS}, not {log!r}")
    retention = options.get("retention")
    if retention is not None:
        retention = _duration(retention, f"stream {name!r}: 'retention'", problems)
    if len(problems) > before:
        return None
    return StreamConfig(name, tuple(topics), partitions, log, retention)


def _duration(text: Any, what: str, problems: list[str]) -> timedelta | None:
    """An ISO 8601 duration (``P7D``, ``PT1H``) longer than nothing; None with a problem."""
    found = parse_duration(text) if isinstance(text, str) and text.startswith("P") else None
    if found is None or found <= timedelta(0):
        problems.append(f"{what} must be an ISO 8601 duration such as 'P7D', not {text!r}")
        return None
    return found


def _setting(name: str) -> str:
    return getattr(settings, name, "") or ""


def _forget(**kwargs: Any) -> None:
    streams_settings.cache_clear()


setting_changed.connect(_forget, dispatch_uid="edn-streams-settings")
