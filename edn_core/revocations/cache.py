"""The revocation list as each process holds it: ``{subject: not-before}`` read whole from
the ``default`` database, read again at most every ``EDN_REVOCATION_REFRESH_SECONDS``.

A request meets a list read at most that long ago, so a revocation committed at ``t`` counts
for every request from ``t + refresh`` on. A check is a clock read and a dict lookup while the
list is fresh. A refresh first reads the list's version (one row, which every change of the
list replaces); the list itself is read again only when that changed. When the database
cannot be read, the last list is kept (and logged once per outage); a process that never read
one refuses to decide (:class:`RevocationsUnavailable`).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable

from django.db import DatabaseError

from edn_core.conditions import ServerSideCondition

__all__ = ["RevocationList", "RevocationsUnavailable", "revocation_list"]

logger = logging.getLogger(__name__)


class RevocationsUnavailable(ServerSideCondition):
    code = "revocations-unavailable"
    default_message = "The list of revoked tokens cannot be read; try again later."
    retry_after = 5


class RevocationList:
    """``load`` returns ``{subject: not-before as epoch seconds}``; ``version`` the list's
    version (None: unknown, read the list); ``clock`` is monotonic."""

    def __init__(
        self,
        load: Callable[[], dict[str, float]],
        clock: Callable[[], float] = time.monotonic,
        version: Callable[[], str | None] = lambda: None,
    ) -> None:
        self._load, self._clock, self._version = load, clock, version
        # (entries, when read): replaced whole, so a concurrent reader sees one or the other
        self._held: tuple[dict[str, float] | None, float] = (None, -math.inf)
        self._held_version: str | None = None
        self._failing = False
        self._reading = threading.Lock()

    def not_before(self, subject: str, refresh_seconds: float) -> float | None:
        """The time before which ``subject``'s tokens no longer count (None: not revoked)."""
        entries, read_at = self._held
        now = self._clock()
        if entries is None or now - read_at >= refresh_seconds:
            entries = self._refresh(entries, read_at, now)
        return entries.get(subject)

    def _refresh(self, kept: dict[str, float] | None, seen_at: float, now: float) -> dict:
        """One thread of the process reads at a time: the others keep to the list they hold
        meanwhile (each read would take a database connection of its own), or, holding none
        yet, wait for that read."""
        if not self._reading.acquire(blocking=kept is None):
            return kept  # another thread is reading it now
        try:
            entries, read_at = self._held
            if entries is not None and read_at != seen_at:
                return entries  # read meanwhile by another thread
            return self._read(kept, now)
        finally:
            self._reading.release()

    def forget(self) -> None:
        """Read the list again at the next check (the last one stays, for an outage)."""
        self._held, self._held_version = (self._held[0], -math.inf), None

    def _read(self, kept: dict[str, float] | None, now: float) -> dict[str, float]:
        try:
            version = self._version()  # first: a change committed after it is read next time
            unchanged = kept is not None and version is not None and version == self._held_version
            entries = kept if unchanged else self._load()
        except DatabaseError as error:
            why = type(error).__name__  # never the driver's message: it names the host
            if kept is None:
                logger.warning("revocation list unreadable, none read yet: %s", why)
                raise RevocationsUnavailable() from None
            if not self._failing:
                logger.warning("revocation list unreadable, the last one kept: %s", why)
            self._failing = True
            self._held = (kept, now)  # asked again after another refresh period
            return kept
        if self._failing:
            logger.info("revocation list readable again")
        self._failing = False
        self._held, self._held_version = (entries, now), version
        return entries


def _from_database() -> dict[str, float]:
    from edn_core.revocations.models import Revocation

    rows = Revocation.objects.values_list("subject", "not_before")
    return {subject: not_before.timestamp() for subject, not_before in rows}


def _version() -> str | None:
    from edn_core.revocations.models import ListVersion

    return ListVersion.current()


revocation_list = RevocationList(_from_database, version=_version)
