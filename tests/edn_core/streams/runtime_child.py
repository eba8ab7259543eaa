"""A stream processor in a process of its own, for the crash and takeover tests
(``test_runtime_kills.py``): ``python -m tests.edn_core.streams.runtime_child COMMAND``.

- ``migrate``: create the analytics tables (a SQLite run: the child's own database files);
- ``seed``: create the stream and append ``--count`` order entries to it;
- ``run``: run the order-statistics processor (``runtime_support``) until every partition's
  position in the database has reached the stream's end as it was at the start (entries are
  seeded before); a window emitted twice makes it fail (``final_writer``);
- ``check``: print, as JSON, what the processor stored and the recomputation in one pass
  from the stream's entries.

The database is the one the environment names (``ANALYTICS_DATABASE_URL`` or SQLite files
under ``EDN_DATA_DIR``); the log: ``--adapter`` database, redis (``--prefix`` on the
test Redis database) or nats (``--prefix`` on the test server).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

ADAPTERS = ("database", "redis", "nats")


def make_log(adapter: str, prefix: str):
    if adapter == "database":
        from edn_core.streams.database import DatabaseLog

        return DatabaseLog("analytics")
    if adapter == "redis":
        from edn_core.streams.redis import RedisLog

        url = os.environ.get("EDN_TEST_STREAMS_REDIS_URL", "redis://127.0.0.1:6379/6")
        return RedisLog(url, prefix=prefix)
    from edn_core.streams.nats import NatsLog

    return NatsLog(os.environ.get("NATS_URL", "nats://127.0.0.1:4222"), prefix=prefix)


def positions_reached(name: str, ends: dict[int, int]) -> bool:
    """Whether the processor's stored positions have reached ``ends`` in every partition."""
    from edn_core.bus.stores import find_model
    from edn_core.streams.runtime_models import ProcessorPositionBase

    model = find_model("analytics", ProcessorPositionBase)
    rows = model._default_manager.using("analytics").filter(processor=name)
    done = dict(rows.values_list("partition", "offset"))
    return all(done.get(p, 0) >= end for p, end in ends.items())


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["migrate", "seed", "run", "check"])
    parser.add_argument("--adapter", choices=ADAPTERS, default="database")
    parser.add_argument("--prefix", default="edn-t-runtime")
    parser.add_argument("--stream", default="orders")
    parser.add_argument("--name", default="stats")
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from edn_core.streams.runtime import run
    from tests.edn_core.streams import runtime_support as support

    if args.command == "migrate":
        call_command("migrate", database="analytics", verbosity=0)
        return 0
    log = make_log(args.adapter, args.prefix)
    try:
        if args.command == "seed":
            log.ensure(args.stream, args.partitions)
            entries = support.orders(args.count)
            for at in range(0, len(entries), 1000):
                log.append(args.stream, entries[at : at + 1000])
        elif args.command == "run":
            ends = log.info(args.stream).last_offsets
            processor = support.processor(args.name, args.stream, batch_size=args.batch)
            run(
                processor,
                log,
                poll=0.05,
                errors="raise",
                until=lambda r: not r.consumed and positions_reached(args.name, ends),
            )
        else:
            found = {
                "stored": support.stored(args.name, "analytics"),
                "expected": support.recompute(support.read_all(log, args.stream)),
            }
            print(json.dumps(found, default=str))
    finally:
        log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
