"""The consumer as a Celery worker step: take envelopes from this process's app queues,
deliver them in batches, and ack only after the handlers' transactions committed.

Messages are collected for up to ``GATHER_SECONDS`` after the first one arrives (a timer on
the worker's event loop) and delivered together, at most ``PREFETCH`` messages or
``EVENT_LIMIT`` events at a time (a message in batched mode carries several, see
:mod:`edn_core.bus.transports.celery`): one transaction per app for the whole batch
(:mod:`edn_core.bus.batch`), then every message of the batch is acked. A handler failure is
recorded in the app's database for retry (the message is acked); an error of the delivery
itself (database down) requeues the batch for the broker to redeliver, and the next delivery
waits (``BACKOFF_SECONDS``, doubling while they keep failing); a worker killed before
the acks gets the messages redelivered, and the inbox drops what had been committed already.
Database connections are checked (Django's health check, ``CONN_MAX_AGE``) at most every
``CONNECTION_CHECK_SECONDS`` and before the first flush after a failed one.
"""

from __future__ import annotations

import gc
import logging
import time

from celery import bootsteps
from kombu import Consumer

from edn_core import testing_hooks
from edn_core.observability import messaging

__all__ = ["EventConsumerStep", "MessageBatch"]

logger = logging.getLogger(__name__)
PREFETCH = 200
EVENT_LIMIT = 1000
GATHER_SECONDS = 0.005  # latency added to the first message of a batch, at most
CONNECTION_CHECK_SECONDS = 1.0  # database connections checked (and recycled) this often
# After a failed delivery (database away), the next one waits: the first pause, doubling up
# to the cap. Without it the broker hands the requeued messages straight back, thousands of
# times a second, each failure with its traceback.
BACKOFF_SECONDS = (0.1, 5.0)


class MessageBatch:
    """Messages received but not yet delivered; ``hub`` None delivers each one at once
    (``gather=False`` too: then a backoff is slept through, the event loop held)."""

    def __init__(self, hub=None, limit: int = PREFETCH, *, gather: bool = True) -> None:
        self.hub, self.limit = (hub if gather else None), limit
        self.sleeps_through_backoff = not gather
        self.pending: list[tuple[str, object]] = []
        self.events = 0
        self.scheduled = False
        self.next_connection_check = 0.0
        self.failed_in_a_row = 0
        self.resume_at = 0.0

    def add(self, app_label: str, message) -> None:
        self.pending.append((app_label, message))
        self.events += _events_in(message)
        if self.hub is None or len(self.pending) >= self.limit or self.events >= EVENT_LIMIT:
            self.flush()
        elif not self.scheduled:
            self._flush_in(GATHER_SECONDS)

    def _flush_in(self, seconds: float) -> None:
        self.scheduled = True
        self.hub.call_later(seconds, self._on_timer)

    def _on_timer(self) -> None:
        self.scheduled = False
        self.flush()

    def flush(self) -> None:
        from django.db import close_old_connections

        from edn_core.bus.batch import deliver_batch

        wait = self.resume_at - time.monotonic()
        if wait > 0 and self.hub is not None:  # backing off: the messages wait, unacked
            if not self.scheduled:
                self._flush_in(wait)
            return
        if wait > 0 and self.sleeps_through_backoff:
            time.sleep(wait)
        self.scheduled = False
        taken, self.pending, self.events = self.pending, [], 0
        if not taken:
            return
        now = time.monotonic()
        if now >= self.next_connection_check:  # not per flush: each check is a round trip
            close_old_connections()
            self.next_connection_check = now + CONNECTION_CHECK_SECONDS
        by_app: dict[str, list] = {}
        for app_label, message in taken:
            by_app.setdefault(app_label, []).append(message)
        for app_label, messages in by_app.items():
            try:
                deliver_batch([m.body for m in messages], app_labels={app_label})
            except Exception as error:
                self._failed(app_label, messages, error)
                continue
            if self.failed_in_a_row:
                logger.info(
                    "deliveries to %s resumed after %d failures", app_label, self.failed_in_a_row
                )
                self.failed_in_a_row = 0
            testing_hooks.pause_point("consumer.before_ack", app_label)
            with messaging.settling(app_label, [m.body for m in messages]):
                for message in messages:
                    message.ack()

    def _failed(self, app_label: str, messages: list, error: Exception) -> None:
        """Requeue the messages; wait longer before each next delivery while they fail."""
        self.failed_in_a_row += 1
        first, cap = BACKOFF_SECONDS
        pause = min(cap, first * 2 ** min(self.failed_in_a_row - 1, 16))
        self.resume_at = time.monotonic() + pause
        self.next_connection_check = 0.0  # check the connections before the next one
        if self.failed_in_a_row == 1:  # the traceback once, not once per attempt
            logger.exception("delivery of %d to %s failed; requeued", len(messages), app_label)
        else:
            logger.warning(
                "delivery of %d to %s failed again (%d in a row, next in %.1f s): %r",
                *(len(messages), app_label, self.failed_in_a_row, pause, error),
            )
        for message in messages:
            message.requeue()


def _events_in(message) -> int:
    """How many events the message says it carries (header ``edn-events``; 1 if absent)."""
    headers = message.headers
    try:
        return max(1, int(headers.get("edn-events", 1) if isinstance(headers, dict) else 1))
    except (TypeError, ValueError, OverflowError):  # a header from another publisher
        return 1


def gathers(broker_url: str) -> bool:
    """Whether messages may wait on the event loop to be delivered together (decision 0067).

    Not on Redis: kombu takes a message off a Redis list (BRPOP) before it records it as
    unacked, and it keeps a BRPOP outstanding while the loop runs; a worker killed while a
    gathered batch is delivered loses the message Redis handed to that BRPOP. Delivered as
    it is read, inside the read, no BRPOP is outstanding while the handlers run.
    """
    return not broker_url.split(":", 1)[0].startswith(("redis", "rediss", "sentinel"))


class EventConsumerStep(bootsteps.ConsumerStep):
    def start(self, c):
        from django.conf import settings

        gather = gathers(settings.CELERY_BROKER_URL)
        self.batch = MessageBatch(getattr(c, "hub", None), gather=gather)
        # Everything loaded so far (Django, Celery, the apps) lives as long as the worker:
        # keep it out of the garbage collector's full passes, which otherwise pause every
        # delivery for tens of milliseconds now and then.
        gc.freeze()
        from edn_core.observability import exposition

        exposition.serve_port()  # EDN_METRICS_PORT, if set
        super().start(c)

    def get_consumers(self, channel):
        from django.conf import settings

        from edn_core.bus.transports.celery import app_queues

        if settings.EDN_BUS_TRANSPORT != "celery":
            return []
        batch = getattr(self, "batch", None) or MessageBatch()
        return [
            Consumer(
                channel,
                queues=[queue],
                on_message=lambda message, app=app: batch.add(app, message),
                prefetch_count=PREFETCH,
            )
            for app, queue in app_queues().items()
        ]

    @staticmethod
    def _handler(app_label: str):
        """Deliver each message on its own (no event loop): tests and tools."""
        batch = MessageBatch()
        return lambda message: batch.add(app_label, message)
