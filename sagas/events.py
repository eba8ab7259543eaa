"""What the orchestrator listens to: each saga's starting event and every reply its steps
await. The subscriptions are derived from the registered definitions (found in the installed
apps' ``sagas.py`` modules before this module loads); sagas publishes only the commands its
steps send, whose schemas live with the definition (``<app>/schemas/``)."""

import logging
from uuid import UUID

from django.apps import apps

from edn_core.bus.subscriptions import subscribe
from edn_core.cqrs import send
from edn_core.events import sends
from sagas import commands
from sagas.definition import SagaDefinition
from sagas.definition import definitions as registered

logger = logging.getLogger(__name__)


def _starter(saga: SagaDefinition):
    def start(events) -> None:
        """The batch's starting events: one saga per key, inserted together."""
        datas = [event.data for event in events]
        traces = [event.traceparent for event in events]  # each saga in its event's trace
        send(commands.StartSagas(saga_type=saga.name, datas=datas, traces=traces)).value_or_raise()

    start.__name__ = f"start_{saga.name}"
    return start


def _reply_handler(topic: str):
    def on_replies(events) -> None:
        """The replies of a delivery batch, applied together (set-based)."""
        replies = []
        for event in events:
            try:
                saga_id = UUID(event.correlation_id)
            except ValueError:
                logger.warning("%s %s names no saga (%r)", topic, event.id, event.correlation_id)
                continue
            replies.append((saga_id, event.topic, event.data, event.id, event.traceparent))
        if replies:
            send(commands.HandleReplies(replies=replies)).value_or_raise()

    on_replies.__name__ = f"on_{topic.replace('.', '_')}"
    return on_replies


# What the engine reads of a reply: its correlation id (the envelope) and, of a failure, an
# optional ``reason`` shown as text whatever its type; the rest is kept in the timeline.
REPLY_READER = {
    "type": "object",
    "$comment": "sagas: a reply's optional reason, shown as text; nothing else is read",
}


def _definer(saga: SagaDefinition) -> str | None:
    """The app whose module defines ``saga``: its key and requests read the starting event,
    so that app's reader file (``<app>/schemas/reads/<topic>.json``) declares what they read."""
    config = apps.get_containing_app_config(getattr(saga.key, "__module__", "") or "")
    return config.label if config else None


def _subscribe_all() -> None:
    """New sagas start on the newest version of each name; every registered version's
    replies and commands stay wired, for the sagas still running on an older one."""
    replies = set()
    for saga in registered():
        reads = _definer(saga)
        subscribe(saga.started_by, app="sagas", batch=True, reads=reads)(_starter(saga))
    for saga in registered(every_version=True):
        sends(*saga.sent_topics, app="sagas")
        replies.update(saga.reply_topics)
    for topic in sorted(replies):
        subscribe(topic, app="sagas", batch=True, reads=REPLY_READER)(_reply_handler(topic))


_subscribe_all()
