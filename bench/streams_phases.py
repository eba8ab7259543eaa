"""The two phases of ``bench/streams.py`` on one log (appends, processing), ours against the
raw client, in ABBA rounds; the checks; the optional cProfile pass."""

from __future__ import annotations

import cProfile
import io
import math
import pstats
import time

from bench.common import say
from bench.streams_raw import RawNats, RawPostgres, RawRedis
from bench.streams_work import (
    abba,
    check_windows,
    chunks,
    clear_read_model,
    median_ratio,
    orders,
    processor,
    split,
)

STREAM, IDS_STREAM, PROFILED_STREAM = "bench-orders", "bench-orders-ids", "bench-orders-profiled"
GROUP = "bench-raw"
PROFILED_ENTRIES = 10_000


class LogUnderTest:
    """Ours (the port's adapter) and the raw client of one kind of log, on names of this
    run's own; ``close`` removes what they wrote."""

    def __init__(self, kind: str, args, tag: str, analytics_url: str) -> None:
        self.kind, self.partitions = kind, args.partitions
        if kind == "redis":
            import redis

            from edn_core.streams.redis import RedisLog

            self.prefix = f"edn:bench:streams:{tag}:"
            client = redis.Redis.from_url(args.redis_url, decode_responses=True)
            self.log = RedisLog(client=client, prefix=self.prefix)
            self.raw = RawRedis(args.redis_url, self.prefix, args.partitions)
            self.raw.create_group(GROUP)
            self.raw_consume = lambda batch: self.raw.consume(GROUP, "bench", batch)
        elif kind == "nats":
            from edn_core.streams.nats import NatsLog

            self.prefix = f"edn-bench-streams-{tag}"
            self.log = NatsLog(args.nats_url, prefix=self.prefix)
            # not under ours' prefix: NatsLog.streams() would take the raw ones for a stream
            self.raw = RawNats(args.nats_url, f"{self.prefix}-raw", args.partitions)
            self.raw.create()
            self.raw.create_group(GROUP)
            self.raw_consume = lambda batch: self.raw.consume(GROUP, batch)
        else:
            from edn_core.streams.database import DatabaseLog

            self.log = DatabaseLog("analytics")
            self.raw = RawPostgres(analytics_url, args.partitions)
            self.raw_consume = self.raw.consume

    def stored(self, stream: str) -> int:
        return sum(self.log.info(stream).lengths.values())

    def raw_stored(self) -> int | None:
        return None if self.kind == "database" else self.raw.lengths()

    def close(self) -> None:
        try:
            if self.kind == "redis":
                client = self.log.redis
                keys = list(client.scan_iter(match=f"{self.prefix}*", count=1000))
                for at in range(0, len(keys), 1000):
                    client.delete(*keys[at : at + 1000])
            elif self.kind == "nats":
                for stream in self.log.streams():
                    self.log.delete(stream)
        finally:
            self.raw.close()
            self.log.close()


class TimedLog:
    """``log`` with the wall time of its ``consume`` and ``commit`` calls added up (every
    other attribute is the log's): what the runtime's rounds spend in the log."""

    def __init__(self, log) -> None:
        self._log, self.consume_s, self.commit_s = log, 0.0, 0.0

    def __getattr__(self, name: str):
        return getattr(self._log, name)

    def consume(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return self._log.consume(*args, **kwargs)
        finally:
            self.consume_s += time.perf_counter() - start

    def commit(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return self._log.commit(*args, **kwargs)
        finally:
            self.commit_s += time.perf_counter() - start


def _ratio(rates: dict, ours: str = "ours", raw: str = "raw") -> dict:
    return {
        "ours": rates[ours],
        "raw": rates[raw],
        "ratio": rates[ours].per_second / rates[raw].per_second,
        "median": median_ratio(rates[ours], rates[raw]),
    }


def append_phase(under: LogUnderTest, payloads: list, args) -> dict:
    from edn_core.streams.port import NewEntry

    log, batch = under.log, args.batch
    plain = [NewEntry(key, value) for key, value in payloads]
    with_ids = [NewEntry(key, value, id=value["id"]) for key, value in payloads]
    log.ensure(STREAM, args.partitions)
    log.ensure(IDS_STREAM, args.partitions)
    say(f"[{under.kind}] append: batches of {batch}; ours, raw, ours with entry ids")
    log.append(STREAM, plain[:batch])  # warm-up: the first batch of each side, untimed
    log.append(IDS_STREAM, with_ids[:batch])
    under.raw.append(payloads[:batch])

    def rounds_of(items: list) -> list[list[list]]:
        return split(chunks(items[batch:], batch), args.rounds)

    ours, ids, raw = rounds_of(plain), rounds_of(with_ids), rounds_of(payloads)
    sides = {
        "ours": lambda i: sum(len(log.append(STREAM, b)) for b in ours[i]),
        "raw": lambda i: sum(under.raw.append(b) for b in raw[i]),
        "ids": lambda i: sum(len(log.append(IDS_STREAM, b)) for b in ids[i]),
    }
    rates = abba(args.rounds, sides, say)
    return _ratio(rates) | {"ids": rates["ids"]}


def drain(batch_of, goal: int | None) -> int:
    """Run ``batch_of()`` (entries read) until ``goal`` entries are read (None: until a batch
    reads nothing); how many were read."""
    done = 0
    while goal is None or done < goal:
        got = batch_of()
        if not got:
            break
        done += got
    return done


def process_phase(under: LogUnderTest, args) -> tuple[dict, int, int, str]:
    """Ours (the runtime) and raw consume over the same number of entries; ours' applied
    count, raw's read count and the processor's name."""
    from edn_core.streams.runtime import Runner

    proc = processor(under.kind, STREAM, args.partitions, args.process_batch)
    timed_log = TimedLog(under.log)
    runner = Runner(proc, timed_log)
    applied, read, batches = [0], [0], [0]

    def ours_batch() -> int:
        done = runner.run_once()
        applied[0] += done.applied
        batches[0] += 1
        return done.consumed

    def raw_batch() -> int:
        got = under.raw_consume(args.process_batch)
        read[0] += got
        return got

    say(f"[{under.kind}] processing: batches of {args.process_batch}; ours (runtime), raw consume")
    try:
        ours_batch()  # warm-up: leases, state loaded, the group created; untimed
        raw_batch()
        timed_log.consume_s = timed_log.commit_s = batches[0] = 0
        per_round = math.ceil((args.entries - args.process_batch) / args.rounds)

        def side(batch_of):
            last = args.rounds - 1
            return lambda i: drain(batch_of, None if i == last else per_round)

        rates = abba(args.rounds, {"ours": side(ours_batch), "raw": side(raw_batch)}, say)
    finally:
        runner.close()
    ours, count = rates["ours"], max(batches[0], 1)
    split_ms = {
        "round": ours.seconds / count * 1e3,
        "consume": timed_log.consume_s / count * 1e3,
        "commit": timed_log.commit_s / count * 1e3,
    }
    split_ms["rest"] = split_ms["round"] - split_ms["consume"] - split_ms["commit"]
    split_ms["raw"] = rates["raw"].seconds / max(rates["raw"].done, 1) * args.process_batch * 1e3
    say(
        f"    ours per round ({count} rounds): {split_ms['round']:.1f} ms = consume "
        f"{split_ms['consume']:.1f} + processing and the PostgreSQL transaction "
        f"{split_ms['rest']:.1f} + the log's commit {split_ms['commit']:.1f}; raw per "
        f"{args.process_batch} entries {split_ms['raw']:.1f} ms"
    )
    return _ratio(rates) | {"split": split_ms}, applied[0], read[0], proc.name


def profile_processing(under: LogUnderTest, args, top: int = 25) -> None:
    """cProfile ours' processing of ``PROFILED_ENTRIES`` fresh entries (appended untimed)."""
    from edn_core.streams.port import NewEntry
    from edn_core.streams.runtime import Runner

    log = under.log
    log.ensure(PROFILED_STREAM, args.partitions)
    entries = [NewEntry(k, v) for k, v in orders(PROFILED_ENTRIES, seed=99)]
    for part in chunks(entries, args.batch):
        log.append(PROFILED_STREAM, part)
    proc = processor(f"{under.kind}-profiled", PROFILED_STREAM, args.partitions, args.process_batch)
    runner = Runner(proc, log)
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    try:
        done = drain(lambda: runner.run_once().consumed, None)
    finally:
        profiler.disable()
        runner.close()
    wall = time.perf_counter() - start
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    say(
        f"\n[profile] {under.kind}: ours' processing of {done} entries under cProfile: "
        f"{done / wall:,.0f} entries/s ({wall / done * 1e6:.0f} µs/entry; do not quote)"
    )
    say(out.getvalue())


def bench_log(under: LogUnderTest, payloads: list, expected: dict, args) -> tuple[dict, list]:
    """Both phases on one log, then the checks; (result, problems)."""
    kind, count = under.kind, len(payloads)
    append = append_phase(under, payloads, args)
    process, applied, read, name = process_phase(under, args)
    problems = []
    stored = {"ours": under.stored(STREAM), "ours with ids": under.stored(IDS_STREAM)}
    if (raw := under.raw_stored()) is not None:
        stored["raw"] = raw
    for side, found in stored.items():
        if found != count:
            problems.append(f"{kind}: {side} stream holds {found} entries, {count} appended")
    if applied != count:
        problems.append(f"{kind}: the processor applied {applied} entries of {count}")
    if read != count:
        problems.append(f"{kind}: the raw consumer read {read} entries of {count}")
    problems += check_windows(kind, expected, name)
    if args.profile:
        profile_processing(under, args)
        clear_read_model()
    a, p = append, process
    say(
        f"  {kind}: append ours {a['ours'].per_second:,.0f}/s, raw {a['raw'].per_second:,.0f}/s"
        f" = {a['ratio']:.2f}x; processing ours {p['ours'].per_second:,.0f}/s, raw consume "
        f"{p['raw'].per_second:,.0f}/s = {p['ratio']:.2f}x"
    )
    return {"kind": kind, "append": append, "process": process}, problems
