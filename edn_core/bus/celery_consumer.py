"""The consumer as a Celery worker step: take envelopes from this process's app queues,
deliver them, and ack only after the handlers' transactions committed.

A handler failure is recorded in the app's database for retry (then the message is acked);
an error of the delivery itself (database down) requeues the message for the broker to
redeliver; a worker killed before the ack gets the message redelivered by the broker.
"""

from __future__ import annotations

import logging

from celery import bootsteps
from kombu import Consumer

__all__ = ["EventConsumerStep"]

logger = logging.getLogger(__name__)


class EventConsumerStep(bootsteps.ConsumerStep):
    def get_consumers(self, channel):
        from django.conf import settings

        from edn_core.bus.transports.celery import app_queues

        if settings.EDN_BUS_TRANSPORT != "celery":
            return []
        return [
            Consumer(channel, queues=[queue], on_message=self._handler(app), prefetch_count=50)
            for app, queue in app_queues().items()
        ]

    @staticmethod
    def _handler(app_label: str):
        from django.db import close_old_connections

        from edn_core.bus.dispatch import deliver

        def on_message(message):
            close_old_connections()
            try:
                deliver(message.body, app_labels={app_label})
            except Exception:
                logger.exception("delivery to %s failed; requeued", app_label)
                message.requeue()
                return
            message.ack()

        return on_message
