"""Stream processors: a windowed aggregation of a stream, declared once, run by the runtime.

An app declares its processors in ``<app>/processors.py`` (found on first lookup, like
admin.py)::

    from edn_core.streams.processors import Processor, register

    register(Processor(
        name="orders-per-minute",          # also the consumer group, unless group= says
        stream="orders",
        aggregation=per_minute,            # Pipeline(...).window(...).aggregate(...)
        app_label="analytics",             # its state tables and alias
        write=write_order_stats,           # write(outputs, using): the read model's rows
    ))

``edn_core.streams.runtime`` runs one (``run``, or ``Runner.run_once`` batch by batch): its
state, the group's offsets, the late records, dead letters and what ``write`` writes commit
in one transaction on the app's alias. ``write`` runs inside it and must only write to that
alias (no I/O that cannot roll back); without it the outputs go to the app's
``WindowResultBase`` table (``store_results``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone
from django.utils.module_loading import autodiscover_modules

from edn_core.bus.stores import find_model
from edn_core.routers import alias_for
from edn_core.streams.pipeline import Aggregation, Output
from edn_core.streams.runtime_models import WindowResultBase

__all__ = ["Processor", "get", "processors", "register", "store_results", "unregister"]

Write = Callable[[Sequence[Output], str], None]


@dataclass(frozen=True)
class Processor:
    """A windowed aggregation of ``stream`` run by the consumer group ``group`` (default: the
    name). ``write(outputs, using)`` writes its outputs (default: ``store_results``);
    ``clear(using)`` deletes what it wrote, when the processor starts over
    (``runtime.forget``). ``partitions``: the stream's partition count, to create it when
    it does not exist (None: it must exist). ``batch_size``: entries per transaction. An
    entry that fails is tried ``attempts`` times in all, ``backoff`` x 2^(n-1) apart (at
    most ``max_backoff``), then dead-lettered (its partition waits, the others go on).

    Windows close when the stream time (the largest event time a partition has seen) passes
    their end and grace: a partition that receives nothing keeps its last windows open. With
    ``close_idle_after``, a round that reads nothing also moves the stream time of the owned
    partitions up to the clock minus that much, so they close anyway (events that arrive
    later than that are late records)."""

    name: str
    stream: str
    aggregation: Aggregation
    app_label: str
    write: Write | None = None
    clear: Callable[[str], None] | None = None
    group: str = ""
    partitions: int | None = None
    batch_size: int = 500
    attempts: int = 5
    backoff: timedelta = timedelta(seconds=1)
    max_backoff: timedelta = timedelta(minutes=5)
    close_idle_after: timedelta | None = None

    def __post_init__(self) -> None:
        if not self.group:
            object.__setattr__(self, "group", self.name)
        if self.batch_size < 1 or self.attempts < 1:
            raise ValueError("batch_size and attempts are at least 1")

    @property
    def alias(self) -> str:
        """The database alias of its state: the app's."""
        return alias_for(self.app_label)

    def delay(self, attempts: int) -> timedelta:
        """How long after its ``attempts``-th failure an entry is tried again."""
        return min(self.backoff * 2 ** max(attempts - 1, 0), self.max_backoff)

    def write_outputs(self, outputs: Sequence[Output], using: str) -> None:
        """Write ``outputs`` with ``write``, or into the default results table."""
        if self.write is not None:
            self.write(outputs, using)
        else:
            store_results(self, outputs, using)


def store_results(processor: Processor, outputs: Sequence[Output], using: str) -> None:
    """The default ``write``: each window's latest value in the app's ``WindowResultBase``
    table (an update replaces it, a final replaces it for good, a retraction deletes it)."""
    model = find_model(processor.app_label, WindowResultBase)
    rows, now = model._default_manager.using(using), timezone.now()
    latest: dict[tuple, Output] = {}
    for output in outputs:  # a window's last output wins (updates come before finals)
        latest[(output.partition, output.key, output.start, output.end)] = output
    kept = [o for o in latest.values() if o.kind != "retract"]
    for gone in (o for o in latest.values() if o.kind == "retract"):
        rows.filter(
            processor=processor.name,
            partition=gone.partition,
            key=gone.key,
            start=gone.start,
            end=gone.end,
        ).delete()
    rows.bulk_create(
        [
            model(
                processor=processor.name,
                partition=o.partition,
                key=o.key,
                start=o.start,
                end=o.end,
                final=o.kind == "final",
                value=o.value,
                updated_at=now,
            )
            for o in kept
        ],
        update_conflicts=True,
        unique_fields=["processor", "partition", "key", "start", "end"],
        update_fields=["final", "value", "updated_at"],
        batch_size=500,
    )


_registry: dict[str, Processor] = {}
_lock = threading.Lock()
_discovered: list[bool] = []


def register(processor: Processor) -> Processor:
    """Declare ``processor`` (a name is declared once; the same declaration again is a no-op)."""
    with _lock:
        known = _registry.get(processor.name)
        if known is not None and known != processor:
            raise ValueError(f"a processor named {processor.name} is already registered")
        _registry[processor.name] = processor
    return processor


def unregister(name: str) -> None:
    """Forget the processor declared as ``name`` (tests declare temporary ones)."""
    with _lock:
        _registry.pop(name, None)


def _discover() -> None:
    if not _discovered:
        autodiscover_modules("processors")
        _discovered.append(True)


def get(name: str) -> Processor:
    """The processor declared as ``name`` (``LookupError`` if none is)."""
    _discover()
    try:
        return _registry[name]
    except KeyError:
        raise LookupError(f"no stream processor named {name} is declared") from None


def processors() -> list[Processor]:
    """Every declared processor, by name."""
    _discover()
    return [_registry[name] for name in sorted(_registry)]
