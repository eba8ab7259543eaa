"""The raw baselines of ``bench/streams.py``: the same payloads through the brokers' clients
with nothing of ours in between, the fastest plain way each does the job.

- Redis (redis-py, replies as bytes): **append** = one pipeline of ``XADD <key> * k <key> v
  <JSON>`` per batch, one Redis stream per partition (``partition_of`` of the key, as the
  port); **consume** = one ``XREADGROUP … COUNT ceil(batch/partitions) STREAMS <the
  partitions> >`` and one pipeline of ``XACK`` per partition per batch. Values are not decoded.
- NATS JetStream (nats-py on an asyncio loop in the calling thread): **append** =
  ``publish_async`` of each body (the value's JSON) to its partition's subject, then wait for
  the batch's acknowledgements; **consume** = per partition, one pull request with only
  ``no_wait`` (the server ends a short batch with a 404/408 status: no fetch expiry waited
  out) to a durable consumer with ``ack_policy=all``, all partitions at once, then one
  synchronous ``+ACK`` of each partition's last message. Values are not decoded.
- PostgreSQL (psycopg, for scale only: no target): **append** = ``executemany`` of an
  ``INSERT`` per entry (pipelined) and ``COMMIT`` per batch; **consume** = one pipelined
  ``SELECT … LIMIT`` per partition (values as text), an ``UPDATE`` of the offsets, ``COMMIT``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math

import nats
import psycopg
import redis
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType, StreamConfig

from edn_core.streams.port import partition_of

__all__ = ["RawNats", "RawPostgres", "RawRedis"]

dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


class RawRedis:
    def __init__(self, url: str, prefix: str, partitions: int) -> None:
        self.client = redis.Redis.from_url(url)
        self.partitions = partitions
        self.keys = [f"{prefix}raw:{p}" for p in range(partitions)]

    def append(self, items: list[tuple[str, dict]]) -> int:
        pipe, keys, count = self.client.pipeline(transaction=False), self.keys, self.partitions
        for key, value in items:
            partition = partition_of(key, count)
            pipe.execute_command("XADD", keys[partition], "*", "k", key, "v", dumps(value))
        pipe.execute()
        return len(items)

    def create_group(self, group: str) -> None:
        for key in self.keys:
            self.client.xgroup_create(key, group, "0", mkstream=True)

    def consume(self, group: str, consumer: str, batch: int) -> int:
        share = math.ceil(batch / self.partitions)
        found = self.client.xreadgroup(group, consumer, dict.fromkeys(self.keys, ">"), count=share)
        pipe, total = self.client.pipeline(transaction=False), 0
        for key, items in found:
            if items:
                pipe.xack(key, group, *[entry_id for entry_id, _fields in items])
                total += len(items)
        if total:
            pipe.execute()
        return total

    def lengths(self) -> int:
        pipe = self.client.pipeline(transaction=False)
        for key in self.keys:
            pipe.xlen(key)
        return sum(pipe.execute())

    def close(self) -> None:
        self.client.close()


class RawNats:
    def __init__(self, url: str, prefix: str, partitions: int) -> None:
        self.loop = asyncio.new_event_loop()
        self.nc = self.loop.run_until_complete(nats.connect(url))
        self.js = self.nc.jetstream(timeout=30)
        self.partitions = partitions
        self.names = [f"{prefix}_{p}" for p in range(partitions)]
        self.subjects = [f"{prefix}.{p}" for p in range(partitions)]
        self.turn = 0

    def run(self, coroutine):
        return self.loop.run_until_complete(coroutine)

    def create(self) -> None:
        async def create() -> None:
            for name, subject in zip(self.names, self.subjects, strict=True):
                config = StreamConfig(name=name, subjects=[subject], storage=StorageType.FILE)
                await self.js.add_stream(config)

        self.run(create())

    def append(self, items: list[tuple[str, dict]]) -> int:
        return self.run(self._append(items))

    async def _append(self, items: list[tuple[str, dict]]) -> int:
        publish, subjects, count = self.js.publish_async, self.subjects, self.partitions
        acks = [
            await publish(subjects[partition_of(key, count)], dumps(value).encode())
            for key, value in items
        ]
        await asyncio.gather(*acks)
        return len(items)

    def create_group(self, group: str) -> None:
        async def create() -> None:
            for name in self.names:
                config = ConsumerConfig(
                    durable_name=group,
                    deliver_policy=DeliverPolicy.ALL,
                    ack_policy=AckPolicy.ALL,
                    ack_wait=3600,
                    max_ack_pending=-1,
                )
                await self.js.add_consumer(name, config)

        self.run(create())

    def consume(self, group: str, batch: int) -> int:
        return self.run(self._consume(group, batch))

    async def _consume(self, group: str, batch: int) -> int:
        count, self.turn = self.partitions, self.turn + 1
        shares = [batch // count + ((i - self.turn) % count < batch % count) for i in range(count)]
        found = await asyncio.gather(
            *(self._fetch(n, group, s) for n, s in zip(self.names, shares, strict=True))
        )
        await asyncio.gather(
            *(self.nc.request(msgs[-1].reply, b"+ACK", timeout=30) for msgs in found if msgs)
        )
        return sum(map(len, found))

    async def _fetch(self, stream: str, consumer: str, batch: int) -> list:
        """One pull request with only ``no_wait``: what the consumer has now, up to ``batch``."""
        got: list = []
        done = self.loop.create_future()

        async def take(msg) -> None:
            status = msg.headers.get("Status") if msg.headers else None
            if done.done():
                return
            if status in ("404", "408"):
                done.set_result(None)
            elif status:
                done.set_exception(RuntimeError(f"pull: status {status} {msg.headers}"))
            else:
                got.append(msg)
                if len(got) >= batch:
                    done.set_result(None)

        subscription = await self.nc.subscribe(self.nc.new_inbox(), cb=take)
        try:
            request = json.dumps({"batch": batch, "no_wait": True}).encode()
            subject = f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{consumer}"
            await self.nc.publish(subject, request, subscription.subject)
            await asyncio.wait_for(done, 30)
            return got
        finally:
            await subscription.unsubscribe()

    def lengths(self) -> int:
        async def lengths() -> int:
            infos = [await self.js.stream_info(name) for name in self.names]
            return sum(info.state.messages for info in infos)

        return self.run(lengths())

    def close(self) -> None:
        async def close() -> None:
            for name in self.names:
                with contextlib.suppress(nats.js.errors.NotFoundError):
                    await self.js.delete_stream(name)
            await self.nc.close()

        try:
            self.run(close())
        finally:
            self.loop.close()


class RawPostgres:
    def __init__(self, url: str, partitions: int) -> None:
        self.conn = psycopg.connect(url)
        self.partitions = partitions
        self.offsets = [0] * partitions  # the last appended, per partition
        self.read = [0] * partitions  # the committed read position, per partition
        self.conn.execute(
            'CREATE TABLE bench_raw_entries (partition int, "offset" bigint, key text, '
            "value jsonb, appended_at timestamptz NOT NULL DEFAULT now(), "
            'PRIMARY KEY (partition, "offset"))'
        )
        self.conn.execute(
            'CREATE TABLE bench_raw_offsets (partition int PRIMARY KEY, "offset" bigint)'
        )
        self.conn.execute(
            "INSERT INTO bench_raw_offsets SELECT p, 0 FROM generate_series(0, %s) p",
            [partitions - 1],
        )
        self.conn.commit()

    def append(self, items: list[tuple[str, dict]]) -> int:
        rows = []
        for key, value in items:
            partition = partition_of(key, self.partitions)
            self.offsets[partition] += 1
            rows.append((partition, self.offsets[partition], key, dumps(value)))
        with self.conn.cursor() as cursor:
            cursor.executemany(
                'INSERT INTO bench_raw_entries (partition, "offset", key, value) '
                "VALUES (%s, %s, %s, %s::jsonb)",
                rows,
            )
        self.conn.commit()
        return len(items)

    def consume(self, batch: int) -> int:
        share = math.ceil(batch / self.partitions)
        query = (
            'SELECT "offset", key, value::text FROM bench_raw_entries '
            'WHERE partition = %s AND "offset" > %s ORDER BY "offset" LIMIT %s'
        )
        with self.conn.pipeline():
            cursors = [
                self.conn.execute(query, [partition, self.read[partition], share])
                for partition in range(self.partitions)
            ]
            found = [cursor.fetchall() for cursor in cursors]
        total = 0
        for partition, rows in enumerate(found):
            if rows:
                self.read[partition] = rows[-1][0]
                total += len(rows)
        self.conn.execute(
            'UPDATE bench_raw_offsets o SET "offset" = n.o FROM unnest(%s::int[], %s::bigint[]) '
            "AS n(p, o) WHERE o.partition = n.p",
            [list(range(self.partitions)), self.read],
        )
        self.conn.commit()
        return total

    def close(self) -> None:
        self.conn.close()
