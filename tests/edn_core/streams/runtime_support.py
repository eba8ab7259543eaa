"""What the runtime tests share (in process and in the crash tests' child processes): an
order-statistics processor, order-like entries, and the comparison of what a processor
stored with a recomputation in one pass from the source entries.

Orders are placed over a few minutes, mostly in order, some a little late (inside the grace
period) and some too late (the side output). A step fails on the order ids in ``BROKEN`` (bad
input), so tests make entries fail and then "fix" them.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from decimal import Decimal

from django.db import IntegrityError

from edn_core.bus.stores import find_model
from edn_core.streams import reducers as r
from edn_core.streams import windows as w
from edn_core.streams.pipeline import Pipeline, State, value_time
from edn_core.streams.port import Entry, NewEntry, StreamLog
from edn_core.streams.processors import Processor
from edn_core.streams.runtime_models import (
    ProcessorLateRecordBase,
    ProcessorPositionBase,
    ProcessorWindowBase,
    WindowResultBase,
)

APP = "analytics"
T0 = 1_780_000_000_000  # epoch ms, a minute boundary
MINUTE = 60_000
BROKEN: set[str] = set()  # order ids whose entries fail (bad input) while listed


def parse(order: dict) -> dict:
    if order["id"] in BROKEN:
        raise ValueError(f"order {order['id']} cannot be read")
    return {"units": order["units"], "revenue": Decimal(order["price"]) * order["units"]}


PER_PRODUCT = (
    Pipeline(time=value_time("placedAt"))
    .filter(lambda order: order["type"] == "OrderPlaced")
    .key_by(lambda order: order["product"])
    .map(parse)
    .window(w.tumbling(MINUTE, grace=10_000))
    .aggregate(orders=r.count(), units=r.sum("units"), revenue=r.sum("revenue", decimal=True))
)


def orders(count: int, seed: int = 7, products: int = 5) -> list[NewEntry]:
    """``count`` order entries, ~40 per minute of event time: 1 in 10 a few seconds late
    (inside the grace), 1 in 50 a minute late (after it), 1 in 20 not an OrderPlaced."""
    rng = random.Random(seed)
    made = []
    for n in range(count):
        placed = T0 + n * 1500
        if n % 10 == 3:
            placed -= rng.randrange(1_000, 9_000)
        if n % 50 == 7:
            placed -= MINUTE + rng.randrange(15_000, 40_000)
        value = {
            "type": "OrderShipped" if n % 20 == 11 else "OrderPlaced",
            "id": f"o{n}",
            "product": f"p{rng.randrange(products)}",
            "units": rng.randrange(1, 5),
            "price": f"{rng.randrange(100, 5000) / 100:.2f}",
            "placedAt": placed,
        }
        made.append(NewEntry(f"o{n}", value))
    return made


def final_writer(processor_name: str):
    """A ``write`` that inserts each final result (no upsert: a window emitted twice fails
    the unique constraint, so the processor crashes instead of hiding a double count)."""

    def write(outputs, using: str) -> None:
        model = find_model(APP, WindowResultBase)
        rows = [
            model(
                processor=processor_name,
                partition=o.partition,
                key=o.key,
                start=o.start,
                end=o.end,
                final=True,
                value=o.value,
            )
            for o in outputs
            if o.kind == "final"
        ]
        try:
            model._default_manager.using(using).bulk_create(rows)
        except IntegrityError as error:
            raise AssertionError(f"a window's final result was written twice: {error}") from error

    return write


def processor(name: str, stream: str, **options) -> Processor:
    options.setdefault("write", final_writer(name))
    return Processor(name=name, stream=stream, aggregation=PER_PRODUCT, app_label=APP, **options)


def read_all(log: StreamLog, stream: str) -> list[Entry]:
    """Every entry of ``stream``, partition by partition, in offset order."""
    entries: list[Entry] = []
    for partition in range(log.info(stream).partitions):
        after = 0
        while chunk := log.read(stream, partition, after, 1000):
            entries += chunk
            after = chunk[-1].offset
    return entries


def recompute(entries: Iterable[Entry], skip=frozenset()) -> dict:
    """What one pass over ``entries`` from nothing gives (the reference)."""
    result = PER_PRODUCT.process(State(), list(entries), skip=skip)
    return {
        "finals": sorted(
            [o.partition, o.key, o.start, o.end, o.value]
            for o in result.outputs
            if o.kind == "final"
        ),
        "windows": sorted([*key, acc] for key, acc in result.upserts.items()),
        "late": sorted([x.partition, x.offset, x.key] for x in result.late),
        "positions": sorted([p, pos.offset, pos.late] for p, pos in result.positions.items()),
    }


def stored(name: str, using: str) -> dict:
    """What processor ``name`` stored, in the shape of ``recompute``."""

    def rows(base):
        model = find_model(APP, base)
        return model._default_manager.using(using).filter(processor=name)

    return {
        "finals": sorted(
            list(row)
            for row in rows(WindowResultBase)
            .filter(final=True)
            .values_list("partition", "key", "start", "end", "value")
        ),
        "windows": sorted(
            list(row)
            for row in rows(ProcessorWindowBase).values_list(
                "partition", "key", "start", "end", "value"
            )
        ),
        "late": sorted(
            list(row)
            for row in rows(ProcessorLateRecordBase).values_list("partition", "offset", "key")
        ),
        "positions": sorted(
            list(row)
            for row in rows(ProcessorPositionBase)
            .exclude(offset=0)
            .values_list("partition", "offset", "late")
        ),
    }
