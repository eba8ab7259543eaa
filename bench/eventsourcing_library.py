"""The baseline of bench/eventsourcing.py: the ``eventsourcing`` library (pyeventsourcing 9.x).

Its ``Application`` with ``PERSISTENCE_MODULE=eventsourcing.postgres`` and the library's
defaults otherwise: every save runs, in one transaction through a psycopg pipeline,
``SET LOCAL lock_timeout``, ``LOCK TABLE … IN EXCLUSIVE MODE`` on the events table (so that
notification ids are committed in order), ``NOTIFY`` and the ``INSERT`` of the new events,
then ``COMMIT``. ``POSTGRES_ENABLE_DB_FUNCTIONS`` stays off (its default). Imported only after
``bench/eventsourcing.py`` made sure that ``eventsourcing`` is the library, not that file.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

__all__ = ["SnapshottingTallies", "Tallies", "Tally", "library_env"]


class Tally(Aggregate):
    """The library's counterpart of the benchmark's ``Counter``: one event type, a total."""

    def __init__(self) -> None:
        self.total = 0

    @event("Counted")
    def count(self, by: int) -> None:
        self.total += by


class Tallies(Application):
    """Default settings: no snapshots, the table lock on every save."""

    name = "Tallies"  # tables tallies_events (and tallies_snapshots)


class SnapshottingTallies(Tallies):
    """The same tables, with a snapshot every 100 events (the library's own mechanism)."""

    name = "Tallies"  # the library names a subclass's tables after it otherwise
    snapshotting_intervals = {Tally: 100}


def library_env(server_url: str, database: str, pool_size: int) -> dict[str, str]:
    """The library's settings for ``database`` on the server at ``server_url``."""
    url = urlsplit(server_url)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": database,
        "POSTGRES_HOST": url.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(url.port or 5432),
        "POSTGRES_USER": url.username or "postgres",
        "POSTGRES_PASSWORD": url.password or "",
        # one connection per writer thread, opened up front (as Django's are before timing)
        "POSTGRES_POOL_SIZE": str(pool_size),
    }


def make_tallies(app: Application, count: int) -> list[Tally]:
    """``count`` new aggregates, each saved once (its creation event), kept in memory."""
    tallies = [Tally() for _ in range(count)]
    app.save(*tallies)
    return tallies


def append_loop(app: Application, tallies: list[Tally], count: int) -> None:
    """``count`` saves of one event each, round robin over ``tallies``."""
    for n in range(count):
        tally = tallies[n % len(tallies)]
        tally.count(1)
        app.save(tally)
