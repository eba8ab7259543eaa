"""Exactly-once effect under crashes: a stream processor in its own process, SIGKILLed at
random points and restarted, ends with the statistics of one pass over the source entries
(nothing counted twice, nothing missing); on each adapter (the database log on the run's
backend, Redis Streams, NATS JetStream). And two processors in one group on PostgreSQL share
the partitions; one is killed, the other takes its partitions over; totals exact.

Kill points are chosen at random by the test among the runtime's pause points
(``edn_core.testing_hooks``): a batch read, nothing written; everything written, the
transaction open; committed, the log's offsets not yet. The process stops there (after a
random number of passes) and is killed there: no timer decides anything.

Full size (the issue's figures: 50,000 order events, 10 kills per adapter)::

    EDN_STREAM_KILL_EVENTS=50000 EDN_STREAM_KILLS=10 .venv/bin/pytest -p no:cacheprovider \\
        tests/edn_core/streams/test_runtime_kills.py
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connections

from edn_core.streams.leases import lease_key
from edn_core.streams.runtime_members import MEMBERS
from edn_core.streams.runtime_runner import HOUSEKEEPING
from edn_core.testing_hooks import PausePoints
from tests.edn_core.streams import adapter_nats, adapter_redis
from tests.edn_core.streams.adapter_database import ALIAS

pytestmark = pytest.mark.django_db(databases=["default", ALIAS], transaction=True)
ROOT = Path(__file__).resolve().parents[3]
EVENTS = int(os.environ.get("EDN_STREAM_KILL_EVENTS", "3000"))
KILLS = int(os.environ.get("EDN_STREAM_KILLS", "4"))
PARTITIONS, BATCH = 4, max(50, EVENTS // 60)
POINTS = ("streams.consumed", "streams.writing", "streams.committed")
GUARD = 120  # seconds: a deadlock guard, never what is measured


@pytest.fixture(scope="module")
def sqlite_template(tmp_path_factory) -> Path:
    """The analytics tables in SQLite files, migrated once (children of a SQLite run copy
    them: the test database in memory is not theirs to see)."""
    folder = tmp_path_factory.mktemp("template")
    Child(folder, {"EDN_DATA_DIR": str(folder)}).call("migrate")
    return folder


class Child:
    """Starts ``runtime_child`` commands with the environment of one test."""

    def __init__(self, folder: Path, env: dict[str, str], *options: str) -> None:
        self.folder, self.options = folder, list(options)
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "EDN_SERVICES": "analytics",
            "EDN_LOG_LEVEL": "WARNING",
            **env,
        }
        self.started = 0

    def command(self, name: str) -> list[str]:
        return [sys.executable, "-m", "tests.edn_core.streams.runtime_child", name, *self.options]

    def call(self, name: str) -> str:
        command, env = self.command(name), self.env
        done = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=GUARD
        )
        assert done.returncode == 0, f"{name} failed:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def start(self, points: PausePoints | None = None) -> subprocess.Popen:
        self.started += 1
        log = (self.folder / f"run-{self.started}.log").open("w")
        env = {**self.env, **(points.env() if points else {})}
        return subprocess.Popen(
            self.command("run"), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )

    def tail(self) -> str:
        return (self.folder / f"run-{self.started}.log").read_text()[-3000:]


def wait_until(condition, what: str):
    deadline = time.monotonic() + GUARD
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def database_env(folder: Path, template: Path | None) -> dict[str, str]:
    """The child's databases: the test database on PostgreSQL, else copies of the template."""
    settings = connections[ALIAS].settings_dict
    if connections[ALIAS].vendor == "postgresql":
        host, port = settings["HOST"] or "127.0.0.1", settings["PORT"] or 5432
        server = f"postgres://{settings['USER']}@{host}:{port}"
        default = connections["default"].settings_dict["NAME"]
        return {
            "ANALYTICS_DATABASE_URL": f"{server}/{settings['NAME']}",
            "DEFAULT_DATABASE_URL": f"{server}/{default}",
        }
    data = folder / "data"
    shutil.copytree(template, data)
    return {"EDN_DATA_DIR": str(data)}


def cleanup(adapter: str, prefix: str) -> None:
    if adapter == "redis":
        client = adapter_redis.client_or_skip()
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
    elif adapter == "nats":
        adapter_nats.drop(adapter_nats.new_log(prefix))


@pytest.fixture
def template(request):
    if connections[ALIAS].vendor == "postgresql":
        return None
    return request.getfixturevalue("sqlite_template")


@pytest.mark.parametrize("adapter", ["database", "redis", "nats"])
def test_killed_at_random_points_and_restarted_counts_each_entry_once(adapter, tmp_path, template):
    if adapter == "redis":
        adapter_redis.client_or_skip()
        prefix = f"edn:test:runtime:{uuid.uuid4().hex}:"
    else:
        prefix = f"edn-t-rt-{uuid.uuid4().hex[:12]}"
        if adapter == "nats":
            adapter_nats.server_or_skip()
    name = f"stats-{uuid.uuid4().hex[:8]}"
    options = ["--adapter", adapter, "--prefix", prefix, "--name", name]
    options += ["--count", str(EVENTS), "--batch", str(BATCH), "--partitions", str(PARTITIONS)]
    child = Child(tmp_path, database_env(tmp_path, template), *options)
    rng = random.Random()
    points = PausePoints(tmp_path / "points", timeout=GUARD)
    try:
        child.call("seed")
        kills = []
        # each run stops after fewer than ``spread`` batches: all the kills come before the end
        spread = max(1, EVENTS // BATCH // (KILLS + 1))
        for _ in range(KILLS):
            point, after = rng.choice(POINTS), rng.randrange(spread)
            points.arm(point, name, after=after)
            process = child.start(points)
            stopped = wait_until(
                lambda: points.paused(point, name) or process.poll() is not None,  # noqa: B023
                f"the processor at {point}",
            )
            assert process.poll() is None, f"it ended before {point}:\n{child.tail()}"
            assert stopped == process.pid
            process.kill()
            process.wait(GUARD)
            points.disarm(point, name)
            kills.append((point, after))
        process = child.start()
        assert process.wait(GUARD) == 0, child.tail()
        found = json.loads(child.call("check"))
    finally:
        cleanup(adapter, prefix)
    expected = found["expected"]
    assert expected["finals"] and expected["late"] and expected["windows"]
    assert found["stored"] == expected, f"after kills at {kills}"


def partitions_by_session(stream: str, group: str) -> list[list[int]]:
    """The partitions of the group held by each database session (the members), sorted."""
    keys = {lease_key(stream, group, p): p for p in range(PARTITIONS)}
    with connections[ALIAS].cursor() as cursor:
        cursor.execute(
            "SELECT pid, ((classid::bigint << 32) | objid::bigint) FROM pg_locks"
            " WHERE locktype = 'advisory' AND granted AND objsubid = 1"
            " AND ((classid::bigint << 32) | objid::bigint) = ANY(%s)",
            [list(keys)],
        )
        held: dict[int, list[int]] = {}
        for pid, key in cursor.fetchall():
            held.setdefault(pid, []).append(keys[key])
    return sorted(sorted(partitions) for partitions in held.values())


def members(stream: str, group: str) -> int:
    keys = [lease_key(stream, group + MEMBERS, i) for i in range(PARTITIONS)]
    with connections[ALIAS].cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND objsubid = 1 AND ((classid::bigint << 32) | objid::bigint) = ANY(%s)",
            [keys],
        )
        return cursor.fetchone()[0]


def test_two_processors_share_the_partitions_and_one_takes_over(tmp_path, require_postgres):
    require_postgres(ALIAS)
    name = f"stats-{uuid.uuid4().hex[:8]}"
    options = ["--name", name, "--count", str(EVENTS), "--batch", str(BATCH)]
    child = Child(tmp_path, database_env(tmp_path, None), *options, "--stream", name)
    child.call("seed")
    first, second = PausePoints(tmp_path / "first"), PausePoints(tmp_path / "second")
    first.arm("streams.consumed", name)  # its first batch: it holds every partition then
    a = child.start(first)
    try:
        first.wait_paused("streams.consumed", name)
        assert partitions_by_session(name, name) == [[0, 1, 2, 3]]
        b = child.start(second)
        wait_until(lambda: members(name, name) == 2, "the second member")
        # in a backlog it looks at the members every HOUSEKEEPING rounds: stop it after that
        first.arm("streams.committed", name, after=HOUSEKEEPING + 1)
        first.release("streams.consumed", name)
        first.wait_paused("streams.committed", name)
        # the first one gave back what exceeded its share; the second took it
        wait_until(lambda: partitions_by_session(name, name) == [[0, 1], [2, 3]], "fair shares")
        a.kill()
        a.wait(GUARD)
        assert b.wait(GUARD) == 0, child.tail()  # it took the partitions over and finished
    finally:
        for process in (a, locals().get("b")):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(GUARD)
    found = json.loads(child.call("check"))
    assert found["stored"] == found["expected"]
