"""The baselines of bench/e2e.py, measured in the same run on the same envelopes: raw one-row
PostgreSQL commits; raw kombu publish without confirms, with per-message confirms and with
confirms pipelined as the relay does; raw kombu consume."""

from __future__ import annotations

import contextlib
import math
import socket
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import psycopg
from kombu import Connection, Consumer, Producer, Queue

from bench.common import say

if TYPE_CHECKING:
    from bench.e2e_run import Run

CONTENT_TYPE = "application/cloudevents+json"
PIPELINE = 200  # messages per confirm round of the pipelined baseline (the relay's batch)


@dataclass
class Baselines:
    pg_commit: float = math.nan
    publish_plain: float = math.nan
    publish_plain_queued: float = math.nan
    publish_each_confirm: float = math.nan
    publish_pipelined: float = math.nan
    consume: float = math.nan


BASELINES = {
    "pg_commit": "raw PostgreSQL one-row commits (INSERT+COMMIT)",
    "publish_plain": "raw kombu publish, no confirms (client side)",
    "publish_plain_queued": "raw kombu publish, no confirms (until queued)",
    "publish_each_confirm": "raw kombu publish, per-message confirms",
    "publish_pipelined": f"raw kombu publish, confirms pipelined per {PIPELINE}",
    "consume": "raw kombu consume (prefetch 50, ack each)",
}


def pg_commit_rate(url: str, body: str, seconds: float) -> float:
    with psycopg.connect(url, connect_timeout=10) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_row (id bigserial PRIMARY KEY, body text)")
        conn.commit()
        count, started = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - started) < seconds:
            conn.execute("INSERT INTO bench_row (body) VALUES (%s)", (body,))
            conn.commit()
            count += 1
    return count / elapsed


def _publish_args(body: dict, queue: str) -> dict:
    return {
        "routing_key": queue,
        "content_type": CONTENT_TYPE,
        "content_encoding": "utf-8",
        "delivery_mode": 2,
        "retry": False,
        "message_id": body["id"],
        "serializer": None,
    }


def kombu_publish(broker: str, queue: Queue, bodies: list[dict], mode: str) -> tuple[float, float]:
    """Publish every body; return (messages/s until the last publish returned, until queued)."""
    options = {"confirm_publish": True} if mode == "each" else {}
    with Connection(broker, connect_timeout=5, transport_options=options) as conn:
        channel = conn.channel()
        queue(channel).declare()
        queue(channel).purge()
        producer = Producer(channel)
        singles: set[int] = set()
        upto = 0  # every tag up to this one is acked

        def on_ack(tag, multiple):
            nonlocal upto
            if multiple:
                upto = max(upto, tag)
            else:
                singles.add(tag)

        def all_acked(last: int) -> bool:
            return all(tag in singles for tag in range(upto + 1, last + 1))

        if mode == "pipelined":
            channel.confirm_select()
            channel.events["basic_ack"].add(on_ack)
        started = time.perf_counter()
        if mode == "pipelined":
            for first in range(0, len(bodies), PIPELINE):
                chunk = bodies[first : first + PIPELINE]
                for body in chunk:
                    producer.publish(body["envelope"], **_publish_args(body, queue.name))
                last, deadline = first + len(chunk), time.monotonic() + 30
                while not all_acked(last) and time.monotonic() < deadline:
                    conn.drain_events(timeout=10)
                if not all_acked(last):
                    raise RuntimeError("pipelined confirms: broker did not ack in 30 s")
        else:
            for body in bodies:
                producer.publish(body["envelope"], **_publish_args(body, queue.name))
        published = time.perf_counter() - started
        deadline = time.monotonic() + 60
        while queue(channel).queue_declare(passive=True).message_count < len(bodies):
            if time.monotonic() > deadline:
                raise RuntimeError(f"raw publish ({mode}): not every message reached the queue")
            time.sleep(0.005)
        queued = time.perf_counter() - started
    return len(bodies) / published, len(bodies) / queued


def kombu_consume(broker: str, queue: Queue, count: int) -> float:
    """Consume ``count`` messages already in ``queue`` as the worker step does (ack each)."""
    got = 0

    def on_message(message):
        nonlocal got
        message.body  # noqa: B018  read the body, as the worker step does
        message.ack()
        got += 1

    with Connection(broker, connect_timeout=5) as conn:
        channel = conn.channel()
        with Consumer(channel, queues=[queue], on_message=on_message, prefetch_count=50):
            started, deadline = time.perf_counter(), time.monotonic() + 120
            while got < count and time.monotonic() < deadline:
                with contextlib.suppress(TimeoutError, socket.timeout):
                    conn.drain_events(timeout=1)
            elapsed = time.perf_counter() - started
    if got < count:
        raise RuntimeError(f"raw consume: got {got} of {count} messages in 120 s")
    return count / elapsed


def measure_baselines(deployment: Run, bodies: list[dict], label: str) -> Baselines:
    args, result = deployment.args, Baselines()
    raw = f"{deployment.server}/{deployment.raw_database}"
    queue = Queue(f"{deployment.namespace}.raw", durable=True, auto_delete=False)
    say(f"[{label}] raw PostgreSQL one-row commits for {args.pg_seconds:g}s")
    result.pg_commit = pg_commit_rate(raw, bodies[0]["envelope"], args.pg_seconds)
    say(f"  {result.pg_commit:8.0f} commits/s")
    say(f"[{label}] raw kombu publish of {len(bodies)} envelopes, no confirms; then consume")
    result.publish_plain, result.publish_plain_queued = kombu_publish(
        args.broker, queue, bodies, "none"
    )
    result.consume = kombu_consume(args.broker, queue, len(bodies))
    say(
        f"  publish {result.publish_plain:8.0f} msg/s (queued {result.publish_plain_queued:.0f}),"
        f" consume {result.consume:8.0f} msg/s"
    )
    say(f"[{label}] raw kombu publish, confirms pipelined per {PIPELINE}")
    result.publish_pipelined = kombu_publish(args.broker, queue, bodies, "pipelined")[0]
    say(f"  {result.publish_pipelined:8.0f} msg/s")
    each = bodies[: args.confirm_messages]
    say(f"[{label}] raw kombu publish of {len(each)} envelopes, per-message confirms")
    result.publish_each_confirm = kombu_publish(args.broker, queue, each, "each")[0]
    say(f"  {result.publish_each_confirm:8.0f} msg/s")
    with Connection(args.broker, connect_timeout=5) as conn:
        queue(conn.channel()).purge()
    return result
