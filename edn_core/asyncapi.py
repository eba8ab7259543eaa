"""An AsyncAPI 3.0 document of the event topics: who publishes, who subscribes, what data.

Channels are topics; each message's payload is the latest registered JSON Schema of the
topic; operations are ``send`` for the publishing app and ``receive`` for every subscription.
"""

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.http import require_GET

from edn_core import schemas
from edn_core.bus.subscriptions import subscriptions
from edn_core.events import publications

__all__ = ["asyncapi_document", "asyncapi_view"]


def _message(topic: str) -> dict:
    message = {
        "name": topic,
        "title": topic,
        "contentType": "application/cloudevents+json",
        "summary": f"CloudEvents 1.0 structured envelope; data as registered for {topic}",
    }
    try:
        registered = schemas.lookup(topic, None) if schemas.validation_enabled() else None
    except (schemas.UnknownSchema, schemas.RegistryUnavailable):
        registered = None
    if registered is not None:
        message["payload"] = {
            "schemaFormat": "application/schema+json;version=draft-07",
            "schema": {k: v for k, v in registered.document.items() if k != "$schema"},
        }
        message["x-edn-dataschema"] = schemas.reference(registered)
    return message


def asyncapi_document() -> dict:
    """Build the document from the publication and subscription registries and the registry."""
    topics = sorted({p.topic for p in publications()} | {s.topic for s in subscriptions()})
    channels = {
        t: {"address": t, "messages": {"event": {"$ref": f"#/components/messages/{t}"}}}
        for t in topics
    }
    operations = {}
    for publication in publications():
        operations[f"{publication.app_label}.publish.{publication.topic}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{publication.topic}"},
            "summary": f"{publication.app_label} publishes {publication.topic}",
            "x-edn-app": publication.app_label,
        }
    for sub in subscriptions():
        operations[sub.consumer] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{sub.topic}"},
            "summary": f"{sub.app_label} handles {sub.topic}",
            "x-edn-app": sub.app_label,
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Event Driven Django events",
            "version": settings.SPECTACULAR_SETTINGS.get("VERSION", "0"),
            "description": "Integration events between the services of this deployment.",
        },
        "defaultContentType": "application/cloudevents+json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": {t: _message(t) for t in topics}},
    }


@require_GET
def asyncapi_view(request):
    return JsonResponse(asyncapi_document(), json_dumps_params={"indent": 2})
