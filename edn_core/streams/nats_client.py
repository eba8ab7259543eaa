"""Plumbing of the NATS JetStream stream log (``edn_core.streams.nats``).

- ``Connection``: one NATS connection and one asyncio loop in a daemon thread per log. The port
  is synchronous and thread-safe: every call runs as a coroutine on that loop and the calling
  thread waits for its result (the timeout is a guard against a deadlock, nothing waits on it).
- JetStream's JSON API over plain requests (``api``), pull fetches that never wait (``fetch``:
  ``no_wait``, the server ends a short batch with a 404 or 408 status), the sequence of the last
  message of a subject appended before a time (``last_before``, a binary search over messages).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from datetime import datetime
from typing import Any

import nats
from nats.aio.msg import Msg

from edn_core.streams.nats_codec import time_of

__all__ = ["Connection", "JetStreamError"]

log = logging.getLogger(__name__)

STREAM_NOT_FOUND, STREAM_NAME_IN_USE, CONSUMER_NOT_FOUND, NO_MESSAGE = 10059, 10058, 10014, 10037


class JetStreamError(Exception):
    """An error answer of the JetStream API (``code`` is its ``err_code``)."""

    def __init__(self, error: dict[str, Any]) -> None:
        self.code = int(error.get("err_code") or error.get("code") or 0)
        super().__init__(f"JetStream: {error.get('description', '')} ({self.code})")


async def _log_error(error: Exception) -> None:
    log.warning("NATS connection: %s", error or type(error).__name__)


class Connection:
    """A NATS connection served by its own loop thread. ``options`` go to ``nats.connect``
    (by default it reconnects forever, half a second apart); ``connect_timeout`` bounds the
    first connection; ``timeout`` bounds each request."""

    def __init__(
        self, url: str, *, timeout: float, connect_timeout: float, options: dict[str, Any]
    ) -> None:
        self.timeout = timeout
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="edn-nats", daemon=True)
        self._thread.start()
        settings = {"max_reconnect_attempts": -1, "reconnect_time_wait": 0.5} | options
        settings.setdefault("error_cb", _log_error)
        try:
            self.nc = self.run(asyncio.wait_for(nats.connect(url, **settings), connect_timeout))
        except TimeoutError as error:
            self._stop()
            raise ConnectionError(f"NATS at {url} did not answer") from error
        except BaseException:
            self._stop()
            raise
        self.js = self.nc.jetstream(timeout=timeout)

    def run(self, coroutine: Any) -> Any:
        """Run ``coroutine`` on the loop and wait for its result."""
        future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        try:
            return future.result(self.timeout * 4)
        except TimeoutError:
            future.cancel()
            raise

    async def api(self, subject: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        """Call ``$JS.API.<subject>``; a ``JetStreamError`` for an error answer."""
        data = b"" if payload is None else json.dumps(payload).encode()
        try:
            msg = await self.nc.request(f"$JS.API.{subject}", data, timeout=self.timeout)
        except nats.errors.NoRespondersError as error:
            raise ConnectionError("JetStream is not enabled on the NATS server") from error
        answer = json.loads(msg.data)
        if "error" in answer:
            raise JetStreamError(answer["error"])
        return answer

    async def fetch(self, stream: str, consumer: str, batch: int) -> list[Msg]:
        """Up to ``batch`` messages the pull consumer has now; never waits for more."""
        if batch <= 0:
            return []
        got: list[Msg] = []
        done: asyncio.Future[None] = self.loop.create_future()

        async def take(msg: Msg) -> None:
            status = msg.headers.get("Status") if msg.headers else None
            if done.done():
                return
            if status in ("404", "408"):  # no more messages now / the batch ends short
                done.set_result(None)
            elif status:
                done.set_exception(JetStreamError({"err_code": status, "description": msg.headers}))
            else:
                got.append(msg)
                if len(got) >= batch:
                    done.set_result(None)

        subscription = await self.nc.subscribe(self.nc.new_inbox(), cb=take)
        try:
            request = json.dumps({"batch": batch, "no_wait": True}).encode()
            subject = f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{consumer}"
            await self.nc.publish(subject, request, subscription.subject)
            await asyncio.wait_for(done, self.timeout)
            return got
        finally:
            await subscription.unsubscribe()

    async def message(self, stream: str, request: dict[str, Any]) -> tuple[int, datetime] | None:
        """Sequence and time of the message ``request`` names (``STREAM.MSG.GET``), or None."""
        try:
            found = (await self.api(f"STREAM.MSG.GET.{stream}", request))["message"]
        except JetStreamError as error:
            if error.code == NO_MESSAGE:
                return None
            raise
        return found["seq"], time_of(found["time"])

    async def last_before(self, stream: str, subject: str, when: datetime) -> int:
        """The sequence of the last message on ``subject`` appended before ``when`` (0 if none).
        A binary search over sequences: a message's time never goes back in a stream."""
        state = (await self.api(f"STREAM.INFO.{stream}"))["state"]
        low, high, best = max(state["first_seq"], 1), state["last_seq"], 0
        while low <= high:
            middle = (low + high) // 2
            found = await self.message(stream, {"seq": middle, "next_by_subj": subject})
            if found is not None and found[1] < when:
                best, low = found[0], found[0] + 1
            else:
                high = middle - 1
        return best

    def close(self) -> None:
        """Close the connection and stop the loop thread."""
        if self.loop.is_running():
            try:
                self.run(self.nc.close())
            finally:
                self._stop()

    def _stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()
