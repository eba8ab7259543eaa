"""The workload of ``bench/streams.py``: order events as the stream feed appends them, the
processor that counts them per product and minute (the analytics app's own), the reference
recomputation and the checks, and timing helpers (rates, ABBA rounds).

An entry is a ``v1.OrderPlaced`` envelope keyed by its order id, ~380 bytes of JSON:
``{"id", "type", "time", "sequence", "data": {"orderId", "customerId", "orderTotal",
"items": [{"productId", "productName", "productPrice", "quantity"}]}}`` (the orders schema);
one line (9 orders in 10) or two of different products, out of ``PRODUCTS`` products. Event
times advance 50 ms per order (20 orders a second of event time, ~42 minutes for 50,000) with
up to 5 s of jitter back: inside the processor's 10 s grace, so no entry is late and every one
counts.
"""

from __future__ import annotations

import random
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

PRODUCTS = 20
START = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
STEP_MS = 50
JITTER_MS = 5_000
MINUTE_MS = 60_000
NAMES = ("Assam", "Darjeeling", "Earl Grey", "Oolong")


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def orders(count: int, seed: int = 15) -> list[tuple[str, dict]]:
    """``count`` (key, value) pairs: the order id and the event's envelope."""
    rng = random.Random(seed)
    products = [str(uuid.UUID(int=0xBE7C5 << 64 | n)) for n in range(PRODUCTS)]
    made = []
    for n in range(count):
        at = START + timedelta(milliseconds=n * STEP_MS - rng.randrange(JITTER_MS))
        chosen = rng.sample(products, 1 if rng.random() < 0.9 else 2)
        items = [
            {
                "productId": product,
                "productName": rng.choice(NAMES),
                "productPrice": f"{rng.randrange(100, 5000) / 100:.2f}",
                "quantity": rng.randrange(1, 5),
            }
            for product in chosen
        ]
        total = sum(Decimal(i["productPrice"]) * i["quantity"] for i in items)
        order = _uuid(rng)
        value = {
            "id": _uuid(rng),
            "type": "v1.OrderPlaced",
            "time": at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "sequence": 1,
            "data": {
                "orderId": order,
                "customerId": _uuid(rng),
                "orderTotal": str(total),
                "items": items,
            },
        }
        made.append((order, value))
    return made


def recompute(payloads: list[tuple[str, dict]]) -> dict[tuple[str, int], tuple]:
    """(product id, window start in ms) -> (orders, units, revenue): one pass over what was
    appended, as ``analytics.streams.product_minutes`` counts (each line a record)."""
    totals: dict[tuple[str, int], list] = {}
    for _key, value in payloads:
        at = int(datetime.fromisoformat(value["time"]).timestamp() * 1000)
        start = at // MINUTE_MS * MINUTE_MS
        for item in value["data"]["items"]:
            row = totals.setdefault((item["productId"], start), [0, 0, Decimal(0)])
            row[0] += 1
            row[1] += item["quantity"]
            row[2] += Decimal(item["productPrice"]) * item["quantity"]
    return {key: tuple(row) for key, row in totals.items()}


def processor(kind: str, stream: str, partitions: int, batch: int):
    """The analytics app's per-product-per-minute processor (its pipeline and its writer
    into ``analytics_product_minute``), under a name of this run's own."""
    from analytics.commands import write_product_minutes
    from analytics.streams import product_minutes
    from edn_core.streams.processors import Processor

    return Processor(
        name=f"bench.{kind}.product-minutes",
        stream=stream,
        aggregation=product_minutes,
        app_label="analytics",
        write=write_product_minutes,
        partitions=partitions,
        batch_size=batch,
    )


def check_windows(kind: str, expected: dict, processor_name: str) -> list[str]:
    """The read model's rows (the partitions' shares added up) against the recomputation;
    no late record, no dead letter. Empties the read model for the next log."""
    from django.db.models import Sum

    from analytics.models import ProcessorDeadLetter, ProcessorLateRecord
    from analytics.read_models import ProductMinute

    rows = ProductMinute.objects.using("analytics")
    found = {
        (str(r["product_id"]), int(r["window_start"].timestamp() * 1000)): (
            r["orders"],
            r["units"],
            r["revenue"],
        )
        for r in rows.values("product_id", "window_start").annotate(
            orders=Sum("orders"), units=Sum("units"), revenue=Sum("revenue")
        )
    }
    problems = []
    wrong = [key for key in expected.keys() | found.keys() if expected.get(key) != found.get(key)]
    if wrong:
        key = sorted(wrong)[0]
        problems.append(
            f"{kind}: {len(wrong)} of {len(expected)} product-minutes differ from the "
            f"recomputation (e.g. {key}: {found.get(key)} instead of {expected.get(key)})"
        )
    for model in (ProcessorLateRecord, ProcessorDeadLetter):
        count = model.objects.using("analytics").filter(processor=processor_name).count()
        if count:
            problems.append(f"{kind}: {count} {model.__name__} rows (expected none)")
    clear_read_model()
    return problems


def clear_read_model() -> None:
    """Empty ``analytics_product_minute`` (the next processor's outputs go there)."""
    from analytics.read_models import ProductMinute

    ProductMinute.objects.using("analytics").all().delete()


# --- timing ----------------------------------------------------------------------------------


@dataclass
class Rate:
    """What one side did over its timed rounds: entries, wall and CPU seconds."""

    done: int = 0
    seconds: float = 0.0
    cpu: float = 0.0
    rounds: list[float] = field(default_factory=list)

    def add(self, done: int, seconds: float, cpu: float) -> None:
        self.done, self.seconds, self.cpu = self.done + done, self.seconds + seconds, self.cpu + cpu
        self.rounds.append(done / seconds if seconds else 0.0)

    @property
    def per_second(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0

    @property
    def cpu_us(self) -> float:
        """CPU of this process (every thread) per entry, µs."""
        return self.cpu / self.done * 1e6 if self.done else 0.0


def timed(work: Callable[[], int]) -> tuple[int, float, float]:
    """``work()`` (returns a count): the count, wall and CPU seconds."""
    start, cpu = time.perf_counter(), time.process_time()
    done = work()
    return done, time.perf_counter() - start, time.process_time() - cpu


def abba(rounds: int, sides: dict[str, Callable[[int], int]], say) -> dict[str, Rate]:
    """Run ``sides[name](round)`` for each side each round, in the given order on even rounds
    and reversed on odd ones (every side's mean position is the same); print each round."""
    rates = {name: Rate() for name in sides}
    names = list(sides)
    for index in range(rounds):
        order = names if index % 2 == 0 else names[::-1]
        parts = []
        for name in order:
            done, seconds, cpu = timed(lambda name=name, index=index: sides[name](index))
            rates[name].add(done, seconds, cpu)
            parts.append(f"{name} {done / seconds if seconds else 0:8.0f}/s")
        say(f"    round {index + 1}/{rounds}: " + " | ".join(parts))
    return rates


def median_ratio(ours: Rate, raw: Rate) -> float:
    """The median over rounds of ours' rate / raw's rate."""
    pairs = [o / r for o, r in zip(ours.rounds, raw.rounds, strict=True) if r]
    return statistics.median(pairs) if pairs else 0.0


def chunks(items: list, size: int) -> list[list]:
    return [items[at : at + size] for at in range(0, len(items), size)]


def split(items: list, parts: int) -> list[list]:
    """``items`` in ``parts`` consecutive slices of (nearly) equal length."""
    step, extra = divmod(len(items), parts)
    out, at = [], 0
    for n in range(parts):
        size = step + (n < extra)
        out.append(items[at : at + size])
        at += size
    return out
