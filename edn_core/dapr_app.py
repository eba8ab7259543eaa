"""The app side of Dapr pub/sub: the subscription document and the delivery route.

The sidecar reads ``GET /dapr/subscribe`` once at start and posts every event of a subscribed
topic to ``/dapr/events/<topic>``. Each envelope goes through :func:`deliver`, so the inbox
keeps the effect exactly-once and failures are retried from our own table: the sidecar is told
``SUCCESS`` once the delivery is recorded either way, ``DROP`` for a message that is not a
valid event of the topic for a handler here (dead-lettered here), and ``RETRY`` only when
nothing could be recorded (e.g. the database is down). A request that is itself malformed (a
bulk entry without ``entryId``, an unsupported media type, an oversized body) is answered 4xx
and delivers nothing. The sidecar authenticates with ``dapr-api-token`` (``APP_API_TOKEN``).
"""

from __future__ import annotations

import hmac
import json
import logging

from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from edn_core.bus import failures
from edn_core.bus.dispatch import deliver
from edn_core.bus.subscriptions import subscriptions, subscriptions_for
from edn_core.conf import edn_settings
from edn_core.cqrs.problems import django_problem
from edn_core.events import IntegrationEvent, InvalidEnvelope

__all__ = ["dapr_event", "dapr_subscribe", "subscription_document", "urlpatterns"]

logger = logging.getLogger(__name__)
SUCCESS, RETRY, DROP = "SUCCESS", "RETRY", "DROP"
ACCEPTED_CONTENT_TYPES = {"application/cloudevents+json", "application/json"}
DEFAULT_BULK_SUBSCRIBE = {"enabled": True, "maxMessagesCount": 100, "maxAwaitDurationMs": 40}


def subscription_document() -> list[dict]:
    """One subscription per topic that a handler of this process consumes."""
    config = edn_settings().dapr
    pubsub, dead_letters, bulk = config.pubsub, config.dead_letter_topic, config.bulk_subscribe
    metadata = {"rawPayload": "false", **config.subscription_metadata}
    document = []
    for topic in sorted({sub.topic for sub in subscriptions()}):
        item = {
            "pubsubname": pubsub,
            "topic": topic,
            "route": f"/dapr/events/{topic}",
            "metadata": metadata,
        }
        if dead_letters:
            item["deadLetterTopic"] = dead_letters.format(topic=topic)
        if bulk:
            item["bulkSubscribe"] = DEFAULT_BULK_SUBSCRIBE if bulk is True else dict(bulk)
        document.append(item)
    return document


def _refusal(request: HttpRequest) -> JsonResponse | None:
    """401 unless the request carries the app token (when one is configured)."""
    expected = edn_settings().dapr.app_api_token
    if not expected:
        return None
    given = request.headers.get("dapr-api-token", "")
    if hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode("utf-8")):
        return None
    return django_problem(401, "A valid dapr-api-token header is required.", "unauthorized")


def _read_body(request: HttpRequest, limit: int) -> bytes | None:
    """Return the body, or None when it is larger than ``limit`` bytes."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return None
    body = request.read(limit + 1)
    return None if len(body) > limit else body


def _deliver(raw: str | bytes, topic: str) -> str:
    """Deliver one envelope that arrived on ``topic``; return the status for the sidecar."""
    try:
        try:
            event = IntegrationEvent.from_json(raw)
        except InvalidEnvelope as error:
            failures.dead_letter_invalid(raw, str(error), None)  # reaching no handler
            return DROP
        if event.topic != topic or not subscriptions_for(topic):
            error = f"a {event.topic} event arrived on topic {topic}, which no handler here takes"
            failures.dead_letter_invalid(raw, error, None)
            return DROP
        deliver(raw)
    except Exception:  # nothing recorded (database down...): the sidecar must deliver again
        logger.exception("dapr delivery on %s could not be recorded; asking for a retry", topic)
        return RETRY
    return SUCCESS


def _bulk_entries(parsed: object) -> list[dict] | None:
    """The entries of a bulk delivery (``{"entries": [...]}``), or None for a single event."""
    if not isinstance(parsed, dict) or "specversion" in parsed:
        return None
    entries = parsed.get("entries")
    return entries if isinstance(entries, list) else None


def _entry_id(entry: object) -> str | None:
    """The entry's id if it is a well-formed entry (an object with a string ``entryId``)."""
    if not isinstance(entry, dict):
        return None
    entry_id = entry.get("entryId") or entry.get("entryID")
    return entry_id if isinstance(entry_id, str) else None


def _entry_status(entry: dict, topic: str) -> dict:
    event = entry.get("event")
    try:
        raw = event if isinstance(event, str) else json.dumps(event)
    except RecursionError:
        raw = "<an event nested too deeply to keep>"
    return {"entryId": _entry_id(entry), "status": _deliver(raw, topic)}


@never_cache
@csrf_exempt
def dapr_subscribe(request: HttpRequest) -> JsonResponse:
    """``GET /dapr/subscribe``: the programmatic subscriptions of this process."""
    if request.method != "GET":
        return django_problem(405, "Use GET.", "method-not-allowed")
    return _refusal(request) or JsonResponse(subscription_document(), safe=False)


@csrf_exempt
def dapr_event(request: HttpRequest, topic: str) -> JsonResponse:
    """``POST /dapr/events/<topic>``: one CloudEvent, or a bulk of them (``entries``)."""
    if request.method != "POST":
        return django_problem(405, "Use POST.", "method-not-allowed")
    refused = _refusal(request)
    if refused:
        return refused
    if request.content_type not in ACCEPTED_CONTENT_TYPES:
        detail = f"Send one of {sorted(ACCEPTED_CONTENT_TYPES)}."
        return django_problem(415, detail, "unsupported-media-type")
    limit = edn_settings().dapr.max_body_bytes
    try:
        body = _read_body(request, limit)
    except OSError:  # the sidecar went away mid-request; it will deliver again
        return JsonResponse({"status": RETRY})
    if body is None:
        return django_problem(413, f"Bodies are limited to {limit} bytes.", "request-too-large")
    try:
        entries = _bulk_entries(json.loads(body))
    except (ValueError, RecursionError):
        entries = None
    if entries is None:
        return JsonResponse({"status": _deliver(body, topic)})
    if not all(_entry_id(entry) for entry in entries):
        detail = "Every entry of a bulk delivery is an object with a string entryId."
        return django_problem(400, detail, "malformed-bulk-delivery")
    return JsonResponse({"statuses": [_entry_status(entry, topic) for entry in entries]})


urlpatterns = [
    path("dapr/subscribe", dapr_subscribe, name="dapr-subscribe"),
    path("dapr/events/<str:topic>", dapr_event, name="dapr-event"),
]
