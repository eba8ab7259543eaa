"""What bench/e2e.py reads to measure and check its phases: the customers outbox, the orders
inbox and the consumer's commit clock."""

from __future__ import annotations

import math
import time
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bench.e2e_run import Run


class Observer:
    """Reads the outbox, the inbox and the worker's commit clock."""

    def __init__(self, run: Run) -> None:
        self.d = run
        self.probed = 0  # inbox rows of the in-process probe (events not in the outbox)

    def outbox_counts(self, after_id: int) -> tuple[int, int]:
        return self.d.query(
            "customers",
            "SELECT count(*), count(sent_at) FROM customers_outboxmessage WHERE id > %s",
            (after_id,),
        )[0]

    def last_outbox_id(self) -> int:
        return self.d.query(
            "customers", "SELECT coalesce(max(id), 0) FROM customers_outboxmessage"
        )[0][0]

    def inbox_count(self) -> int:
        return self.d.query("orders", "SELECT count(*) FROM orders_inboxentry")[0][0]

    def progress(self, after_id: int, inbox_before: int):
        last = {"t": time.monotonic(), "consumed": inbox_before}

        def line() -> str:
            written, sent = self.outbox_counts(after_id)
            consumed = self.inbox_count()
            now = time.monotonic()
            rate = (consumed - last["consumed"]) / max(now - last["t"], 1e-9)
            last.update(t=now, consumed=consumed)
            return (
                f"written {written:6d}  sent {sent:6d}  consumed {consumed - inbox_before:6d}"
                f"  ({rate:5.0f}/s)"
            )

        return line

    def events(self, after_id: int) -> list[dict]:
        """The phase's events: id, created (envelope time), sent_at, committed, processed_at."""
        rows = self.d.query(
            "customers",
            "SELECT event_id::text, envelope::json->>'time', extract(epoch FROM sent_at)"
            " FROM customers_outboxmessage WHERE id > %s ORDER BY id",
            (after_id,),
        )
        processed = dict(
            self.d.query(
                "orders",
                "SELECT event_id, extract(epoch FROM processed_at) FROM orders_inboxentry",
            )
        )
        commits: dict[str, float] = {}
        if self.d.commit_log.exists():
            for line in self.d.commit_log.read_text().splitlines():
                event_id, _, stamp = line.partition(" ")
                commits.setdefault(event_id, float(stamp))
        events = [
            {
                "id": event_id,
                "created": datetime.fromisoformat(created).timestamp(),
                "sent": float(sent) if sent is not None else math.nan,
                "committed": commits.get(event_id, math.nan),
                "processed": float(processed[event_id]) if event_id in processed else math.nan,
            }
            for event_id, created, sent in rows
        ]
        unsent = sum(1 for e in events if math.isnan(e["sent"]))
        if unsent:
            raise RuntimeError(f"{unsent} events of the phase were never marked sent")
        return events

    def consumed(self, events: list[dict]) -> list[dict]:
        missing = sum(1 for e in events if math.isnan(e["committed"]))
        if missing:
            raise RuntimeError(f"{missing} events have no consumer commit time")
        return events

    def wait_for_the_orders_list(self, seconds: float = 300) -> None:
        """The orders list is a projection the workers keep: wait until it has every event."""
        caught_up = """SELECT coalesce((SELECT position FROM orders_projectionstate
            WHERE name = 'order_list' AND live), 0)
            >= coalesce((SELECT max(id) FROM orders_orderevent), 0)"""
        deadline = time.monotonic() + seconds
        while not self.d.query("orders", caught_up)[0][0]:
            if time.monotonic() > deadline:
                raise RuntimeError("the orders list projection did not catch up")
            time.sleep(0.1)

    def check_outcomes(self) -> list[str]:
        """Every event recorded once by the consumer; applied in order per customer; an event
        left unapplied ('stale', latest-wins) only when a newer one of its customer was
        applied; every order ends at its customer's newest address; nothing failed."""
        problems = []
        written = self.d.query("customers", "SELECT count(*) FROM customers_outboxmessage")[0][0]
        inbox = "orders_inboxentry"
        recorded = self.d.query("orders", f"SELECT count(*) FROM {inbox}")[0][0] - self.probed
        if recorded != written:
            problems.append(f"{written} events written, {recorded} recorded by the consumer")
        for outcome, count in self.d.query(
            "orders", f"SELECT outcome, count(*) FROM {inbox} GROUP BY outcome"
        ):
            if outcome not in ("handled", "stale"):
                problems.append(f"{count} inbox entries with outcome {outcome!r}")
        self.wait_for_the_orders_list()
        checks = {
            "applied out of order": f"""SELECT count(*) FROM (SELECT sequence, lag(sequence)
                OVER (PARTITION BY aggregate_id ORDER BY id) AS before FROM {inbox}
                WHERE outcome = 'handled') t WHERE before >= sequence""",
            "stale without a newer applied event": f"""SELECT count(*) FROM {inbox} s
                WHERE outcome = 'stale' AND NOT EXISTS (SELECT 1 FROM {inbox} h WHERE
                h.aggregate_id = s.aggregate_id AND h.outcome = 'handled'
                AND h.sequence > s.sequence)""",
            "orders not at their customer's newest address": f"""SELECT count(*) FROM
                orders_order_view o JOIN (SELECT aggregate_id, max(sequence) AS newest FROM
                {inbox} GROUP BY aggregate_id) i ON o.customer_id::text = i.aggregate_id
                WHERE o.shipping_address->>'street' <> i.newest || ' Bench Road'
                AND o.generation = (SELECT generation FROM orders_projectionstate
                WHERE name = 'order_list' AND live)""",
        }
        for problem, statement in checks.items():
            if count := self.d.query("orders", statement)[0][0]:
                problems.append(f"{count} {problem}")
        failed = self.d.query("orders", "SELECT count(*) FROM orders_faileddelivery")[0][0]
        if failed:
            problems.append(f"{failed} failed deliveries (or dead letters) in orders")
        return problems

    def outcome_counts(self) -> dict[str, int]:
        return dict(
            self.d.query(
                "orders", "SELECT outcome, count(*) FROM orders_inboxentry GROUP BY outcome"
            )
        )
