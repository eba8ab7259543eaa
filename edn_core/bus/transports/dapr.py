"""Transport through a Dapr sidecar's HTTP pub/sub API.

Each envelope is posted as ``application/cloudevents+json``, so the sidecar keeps it as it is,
adding ``topic``/``pubsubname`` and rewriting ``traceparent``/``traceid``/``tracestate`` from the
trace of the publish request. The request therefore carries the envelope's ``traceparent``
header: the sidecar's span becomes its child and the trace id survives.

Bulk publishing takes runs of consecutive rows that share a topic and a trace id and name each
aggregate at most once: the sidecar gives every entry of a bulk request the request's trace and
publishes the entries in parallel, so mixing traces would rewrite them and two events of one
aggregate could swap places. Only the prefix before the first failed entry counts as confirmed.

:class:`DaprPublisher` holds what every sidecar API shares (runs, the confirmed prefix); the gRPC
publisher (``dapr_grpc``) subclasses it too.
"""

from __future__ import annotations

import json
import logging
from abc import abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from urllib.parse import quote

import httpx

from edn_core import tracing
from edn_core.bus.transports import Transport
from edn_core.conf import edn_settings

__all__ = [
    "CLOUDEVENTS_JSON",
    "DaprPublishError",
    "DaprPublisher",
    "DaprTransport",
    "confirmed_prefix",
    "publish_runs",
]

logger = logging.getLogger(__name__)
CLOUDEVENTS_JSON = "application/cloudevents+json"
BULK_MAX_ENTRIES = 100


class DaprPublishError(RuntimeError):
    """The sidecar confirmed none of the rows it was given."""


@dataclass(frozen=True)
class Outgoing:
    """An outbox row with its parsed envelope (``{}`` when it is not a JSON object)."""

    row: object
    event: dict

    @property
    def trace_id(self) -> str | None:
        return tracing.trace_id(self.event.get("traceparent", ""))


def _outgoing(row) -> Outgoing:
    try:
        event = json.loads(row.envelope)
    except ValueError:
        event = None
    return Outgoing(row, event if isinstance(event, dict) else {})


def _joins(run: list[Outgoing], item: Outgoing) -> bool:
    first = run[0]
    return (
        len(run) < BULK_MAX_ENTRIES
        and bool(item.event)
        and item.row.topic == first.row.topic
        and item.trace_id is not None
        and item.trace_id == first.trace_id
        and all(o.row.aggregate_id != item.row.aggregate_id for o in run)
    )


def publish_runs(messages: Sequence, *, bulk: bool) -> Iterator[list[Outgoing]]:
    """Split ``messages`` in order into runs that one request may publish."""
    run: list[Outgoing] = []
    for item in map(_outgoing, messages):
        if run and not (bulk and _joins(run, item)):
            yield run
            run = []
        run.append(item)
    if run:
        yield run


def confirmed_prefix(entry_ids: list[str], failed: set[str]) -> int:
    """Count the entries before the first one listed in ``failed`` (0 if the list is unusable)."""
    if not failed or not failed <= set(entry_ids):  # nothing usable listed: confirm nothing
        return 0
    return next(index for index, entry_id in enumerate(entry_ids) if entry_id in failed)


class DaprPublisher(Transport):
    """Publish outbox rows run by run (:func:`publish_runs`) through a Dapr sidecar.

    A subclass publishes one run and says how many of its leading rows were confirmed.
    """

    name = "dapr"
    bulk: bool = True

    def publish(self, messages: Sequence) -> int:
        confirmed = 0
        for run in publish_runs(messages, bulk=self.bulk):
            done, error = self._publish_run(run)
            confirmed += done
            if error:
                if not confirmed:  # raised, so that the relay records the reason on the row
                    raise DaprPublishError(error)
                row = messages[confirmed]
                logger.warning("dapr: %s %s not published: %s", row.topic, row.event_id, error)
                break
        return confirmed

    @abstractmethod
    def _publish_run(self, run: list[Outgoing]) -> tuple[int, str | None]:
        """Publish ``run``; return how many leading rows were confirmed, and why not all."""


def _refusal(response: httpx.Response) -> str:
    return f"dapr answered {response.status_code}: {response.text[:500]}"


class DaprTransport(DaprPublisher):
    """Publish outbox rows through the Dapr sidecar's HTTP API (``DAPR_HOST``:``DAPR_HTTP_PORT``).

    Constructing it opens no connection and waits for nothing; requests time out after
    ``EDN_DAPR_TIMEOUT_SECONDS``.
    """

    def __init__(self, client: httpx.Client | None = None) -> None:
        found = edn_settings()
        sidecar = found.sidecar
        token, timeout = sidecar.api_token, sidecar.timeout_seconds
        self.pubsub = quote(found.dapr.pubsub, safe="")
        self.bulk = sidecar.bulk_publish
        self.client = client or httpx.Client(
            base_url=f"http://{sidecar.host}:{sidecar.http_port}",
            headers={"dapr-api-token": token} if token else {},
            timeout=httpx.Timeout(timeout, connect=min(timeout, 3.0)),
        )

    def close(self) -> None:
        self.client.close()

    def _publish_run(self, run: list[Outgoing]) -> tuple[int, str | None]:
        try:
            return self._post_run(run)
        except httpx.HTTPError as exc:
            return 0, f"{type(exc).__name__}: {exc}"

    def _post_run(self, run: list[Outgoing]) -> tuple[int, str | None]:
        first = run[0]
        headers = {"traceparent": first.event["traceparent"]} if first.trace_id else {}
        if len(run) == 1:
            response = self.client.post(
                f"/v1.0/publish/{self.pubsub}/{quote(first.row.topic, safe='')}",
                content=first.row.envelope.encode("utf-8"),
                params={"metadata.partitionKey": first.row.aggregate_id},
                headers={**headers, "content-type": CLOUDEVENTS_JSON},
            )
            return (1, None) if response.status_code == 204 else (0, _refusal(response))
        entries = [
            {
                "entryId": str(o.row.event_id),
                "event": o.event,
                "contentType": CLOUDEVENTS_JSON,
                "metadata": {"partitionKey": o.row.aggregate_id},
            }
            for o in run
        ]
        response = self.client.post(
            f"/v1.0-alpha1/publish/bulk/{self.pubsub}/{quote(first.row.topic, safe='')}",
            json=entries,
            headers=headers,
        )
        if response.status_code == 204:
            return len(run), None
        return _confirmed_before_first_failure(entries, response), _refusal(response)


def _confirmed_before_first_failure(entries: list[dict], response: httpx.Response) -> int:
    try:
        failed = {str(f.get("entryId")) for f in response.json().get("failedEntries") or []}
    except (ValueError, AttributeError):
        return 0
    return confirmed_prefix([entry["entryId"] for entry in entries], failed)
