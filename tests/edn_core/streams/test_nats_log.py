"""What the NATS JetStream adapter does beyond the contract: a consumer process killed (or
hung) with entries it never committed hands them to the next owner at once (``ack_wait`` is an
hour, so nothing here waits for it), a crash between two generations of a group's consumer,
offsets as each partition's own sequence across retention, names that are not subject tokens,
several threads on one log, and a connection that drops and comes back (cut by a relay the
test owns, and waited for through the client's own reconnect callback)."""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from edn_core.streams.nats import NatsLog
from edn_core.streams.nats_codec import time_of, token, untoken
from edn_core.streams.nats_consumers import Durable
from edn_core.streams.port import NewEntry, UnknownStream, partition_of
from tests.edn_core.streams import adapter_nats
from tests.edn_core.streams.test_contract import keys_in, new_name, put, read_all

GUARD = 60  # seconds: a deadlock guard, never a measure


@pytest.fixture
def log(request):
    yield from adapter_nats.make(request)


@pytest.fixture
def stream(log):
    name = new_name()
    log.ensure(name, 2)
    return name


def consumer_names(log: NatsLog, stream: str, partition: int) -> list[str]:
    name = log.stream_name(stream, partition)
    found = log.connection.run(log.connection.api(f"CONSUMER.NAMES.{name}"))
    return sorted(found.get("consumers") or [])


# -- takeover ---------------------------------------------------------------------------------

CHILD = """
import sys
from edn_core.streams.nats import NatsLog
log = NatsLog(sys.argv[1], prefix=sys.argv[2])
print(",".join(str(e.offset) for e in log.consume(sys.argv[3], "g", "doomed", [0], 4)), flush=True)
sys.stdin.read()
"""


def test_a_killed_consumer_process_hands_its_entries_over_at_once(log, stream):
    (key,) = keys_in(0, 2)
    put(log, stream, key, 6)
    entries = read_all(log, stream, 0)
    args = [sys.executable, "-c", CHILD, adapter_nats.URL, log.prefix, stream]
    pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "text": True}
    child = subprocess.Popen(args, cwd=Path(__file__).parents[3], **pipes)
    guard = threading.Timer(GUARD, child.kill)
    guard.start()
    try:
        consumed = child.stdout.readline().strip()
        child.send_signal(signal.SIGKILL)
        child.wait()
    finally:
        guard.cancel()
    assert consumed == ",".join(str(e.offset) for e in entries[:4])
    assert log.consume(stream, "g", "heir", [0], 10) == entries
    log.commit(stream, "g", {0: entries[-1].offset})
    assert log.committed(stream, "g")[0] == entries[-1].offset


def test_a_hung_consumer_loses_its_entries_to_the_next_owner_at_once(log, stream):
    (key,) = keys_in(1, 2)
    put(log, stream, key, 5)
    entries = read_all(log, stream, 1)
    hung = adapter_nats.new_log(prefix=log.prefix)  # alive and connected, never commits
    try:
        assert hung.consume(stream, "g", "c1", [1], 3) == entries[:3]
        assert log.consume(stream, "g", "c2", [1], 10) == entries
        log.commit(stream, "g", {1: entries[1].offset})
        assert log.consume(stream, "g", "c2", [1], 10) == entries[2:]
    finally:
        hung.close()
    assert consumer_names(log, stream, 1) == [f"g_g_{n}" for n in (2,)], "one consumer left"


def test_after_a_crash_between_two_generations_the_newest_is_in_charge(log, stream):
    (key,) = keys_in(0, 2)
    put(log, stream, key, 4)
    entries = read_all(log, stream, 0)
    assert log.consume(stream, "g", "c1", [0], 10) == entries  # generation 0
    # a move that created generation 1 and died before deleting generation 0
    ghost = Durable("not-there", "g", 0, 0)
    log.connection.run(log.start(stream, "g", 0, ghost, entries[1].offset))
    assert consumer_names(log, stream, 0) == ["g_g_0", "g_g_1"]
    assert log.groups(stream) == ["g"]
    assert log.committed(stream, "g") == {0: entries[1].offset, 1: 0}
    assert consumer_names(log, stream, 0) == ["g_g_1"], "the older one is deleted"
    assert log.consume(stream, "g", "c1", [0], 10) == entries[2:]


def test_reads_leave_no_consumer_behind(log, stream):
    (key,) = keys_in(0, 2)
    put(log, stream, key, 3)
    assert len(log.read(stream, 0, 0, 2)) == 2
    assert log.read(stream, 1, 0, 2) == []
    assert consumer_names(log, stream, 0) == consumer_names(log, stream, 1) == []


# -- offsets, retention, names ----------------------------------------------------------------


def test_offsets_are_each_partitions_own_sequence_and_survive_retention(log, stream):
    (key0,), (key1,) = keys_in(0, 2), keys_in(1, 2)
    positions = log.append(stream, [NewEntry(k, {"n": n}) for n, k in enumerate([key0, key1] * 3)])
    assert positions == [(0, 1), (1, 1), (0, 2), (1, 2), (0, 3), (1, 3)]
    later = max(e.appended_at for p in (0, 1) for e in read_all(log, stream, p))
    log.commit(stream, "g", {0: 2})
    assert log.trim(stream, before=later + timedelta(seconds=1)) == 6
    info = log.info(stream)
    assert (info.lengths, info.last_offsets) == ({0: 0, 1: 0}, {0: 3, 1: 3})
    # the server moves a consumer's ack floor past what a purge removed
    assert log.committed(stream, "g") == {0: 3, 1: 0}
    assert log.append(stream, [NewEntry(key0, {"n": 6})]) == [(0, 4)]
    assert [e.offset for e in log.consume(stream, "g", "c1", [0, 1], 10)] == [4]


def test_names_that_are_not_subject_tokens_round_trip(log):
    name, group = "orders.v1 crème/*>_x", "reports.daily *>_"
    assert untoken(token(name)) == name and set(token(name)) <= set(
        "abcdefghijklmnopqrstuvwxyz-_0123456789v"
    )
    log.ensure(name, 2)
    put(log, name, "k", 2)
    partition = partition_of("k", 2)
    log.commit(name, group, {partition: 1})
    assert name in log.streams()
    assert log.groups(name) == [group]
    assert [e.key for e in log.consume(name, group, "c1", [partition], 10)] == ["k"]


def test_a_prefix_is_a_namespace(log, stream):
    other = adapter_nats.new_log()
    try:
        assert stream not in other.streams()
        with pytest.raises(UnknownStream):
            other.info(stream)
        other.ensure(stream, 3)  # the same name under another prefix: another stream
        assert log.info(stream).partitions == 2
    finally:
        adapter_nats.drop(other)


def test_a_stream_deleted_under_the_log_is_unknown(log, stream):
    put(log, stream, "k", 1)
    log.delete(stream)
    with pytest.raises(UnknownStream):
        put(log, stream, "k", 1)
    assert stream not in log.streams()


def test_an_entry_that_is_not_json_appends_nothing(log, stream):
    with pytest.raises(TypeError):
        log.append(stream, [NewEntry("k", {"n": 1}), NewEntry("k", {"when": object()})])
    assert log.info(stream).lengths == {0: 0, 1: 0}


def test_times_are_cut_to_the_microsecond_wherever_they_are_read():
    assert time_of("2026-12-01T10:35:00.711599682Z") == datetime(
        2026, 12, 1, 10, 35, 0, 711599, tzinfo=UTC
    )
    assert time_of("2026-12-01T10:35:00Z") == datetime(2026, 12, 1, 10, 35, tzinfo=UTC)
    assert time_of("2026-12-01T11:35:00.5+01:00") == datetime(
        2026, 12, 1, 10, 35, 0, 500000, tzinfo=UTC
    )


# -- threads and connections ------------------------------------------------------------------


def test_threads_share_one_log(log):
    name = new_name()
    log.ensure(name, 3)
    keys = [f"k{n}" for n in range(6)]

    def appender(thread: int) -> None:
        for n in range(20):
            log.append(name, [NewEntry(key, {"t": thread, "n": n}) for key in keys])

    threads = [threading.Thread(target=appender, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(GUARD)
    entries = [e for p in range(3) for e in read_all(log, name, p)]
    assert len(entries) == len({(e.partition, e.offset) for e in entries}) == 4 * 20 * 6
    for key in keys:
        for thread in range(4):
            mine = [e.value["n"] for e in entries if e.key == key and e.value["t"] == thread]
            assert mine == list(range(20)), "each thread's entries of a key in order"


class Relay:
    """A TCP relay to the NATS server whose connections the test cuts when it chooses."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"nats://127.0.0.1:{self.listener.getsockname()[1]}"
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass

    def cut(self) -> None:
        with self.lock:
            sockets, self.sockets = self.sockets, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        self.listener.close()
        self.cut()


def test_the_log_reconnects_after_the_connection_drops(log, stream):
    host, port = adapter_nats.URL.removeprefix("nats://").rsplit(":", 1)
    relay = Relay(host, int(port))
    reconnected = threading.Event()

    async def on_reconnect() -> None:
        reconnected.set()

    through = adapter_nats.new_log(prefix=log.prefix, url=relay.url, reconnected_cb=on_reconnect)
    try:
        first = through.append(stream, [NewEntry("k", {"n": 0})])
        assert through.consume(stream, "g", "c1", [first[0][0]], 10)[0].value == {"n": 0}
        relay.cut()
        assert reconnected.wait(GUARD)
        second = through.append(stream, [NewEntry("k", {"n": 1})])
        assert second[0][1] > first[0][1]
        assert [e.value for e in through.consume(stream, "g", "c1", [second[0][0]], 10)] == [
            {"n": 0},
            {"n": 1},
        ]
    finally:
        through.close()
        relay.close()


def test_a_server_that_does_not_answer_is_a_connection_error():
    adapter_nats.server_or_skip()
    with socket.create_server(("127.0.0.1", 0)) as closed:
        port = closed.getsockname()[1]
    with pytest.raises(ConnectionError):
        NatsLog(f"nats://127.0.0.1:{port}", connect_timeout=0.5)


def test_the_loop_thread_ends_with_the_log():
    log = adapter_nats.new_log()
    thread = log.connection._thread
    log.close()
    assert not thread.is_alive()
    assert log.connection.loop.is_closed()


@pytest.mark.parametrize(
    ("entry_id", "lookalike"),
    [("événement-1", "événement-2"), ("line\r\nbreak", "line  break"), (" spaced ", "spaced")],
)
def test_any_id_is_deduplicated_and_read_back_exactly(log, stream, entry_id, lookalike):
    """A header keeps neither line breaks nor surrounding spaces: such ids go as a digest."""
    (first,) = log.append(stream, [NewEntry("k", {"n": 1}, id=entry_id)])
    assert log.append(stream, [NewEntry("k", {"n": 1}, id=entry_id)]) == [first]
    (other,) = log.append(stream, [NewEntry("k", {"n": 2}, id=lookalike)])
    assert other != first
    assert [(e.id, e.offset) for e in read_all(log, stream, first[0])] == [
        (entry_id, first[1]),
        (lookalike, other[1]),
    ]
