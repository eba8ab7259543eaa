"""A stream in Django admin: every event of an aggregate with the state right after it.

Mix :class:`StreamAdminMixin` into the admin of a model whose rows name an aggregate (a read
model row, say) and set ``stream_repository`` and ``stream_id_field``; each row gets a
"stream" link to ``<object id>/stream/``, a read-only page for operators and auditors.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from edn_core.eventsourcing.codec import to_json
from edn_core.eventsourcing.repository import EventSourcedRepository

__all__ = ["StreamAdminMixin", "state_of"]


def state_of(aggregate: Any) -> dict[str, Any]:
    """The aggregate's public attributes as JSON-able data (what the stream page shows)."""
    public = {k: v for k, v in vars(aggregate).items() if not k.startswith("_")}
    return to_json(public)


def pretty(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True, cls=DjangoJSONEncoder)


class StreamAdminMixin:
    stream_repository: EventSourcedRepository
    stream_id_field = "id"

    def get_urls(self):
        opts = self.model._meta  # type: ignore[attr-defined]
        name = f"{opts.app_label}_{opts.model_name}_stream"
        view = self.admin_site.admin_view(self.stream_view)  # type: ignore[attr-defined]
        return [path("<path:object_id>/stream/", view, name=name), *super().get_urls()]  # type: ignore[misc]

    @property
    def stream_link_name(self) -> str:
        opts = self.model._meta  # type: ignore[attr-defined]
        return f"admin:{opts.app_label}_{opts.model_name}_stream"

    def stream(self, row) -> str:
        """The list column linking a row to its stream's page."""
        return format_html('<a href="{}">events</a>', reverse(self.stream_link_name, args=[row.pk]))

    stream.short_description = "stream"  # type: ignore[attr-defined]

    def stream_view(self, request, object_id: str):
        if not self.has_view_permission(request):  # type: ignore[attr-defined]
            raise PermissionDenied
        row = self.get_object(request, object_id)  # type: ignore[attr-defined]
        if row is None:
            raise Http404(f"No row {object_id}.")
        aggregate_id = getattr(row, self.stream_id_field)
        history = self.stream_repository.history(aggregate_id)
        events = self.stream_repository.store.codec.decode_all([s for s, _ in history])
        entries = [
            {
                "stored": stored,
                "data": pretty(to_json(event)),
                "metadata": pretty(stored.metadata),
                "state": pretty(state_of(state)),
            }
            for (stored, state), event in zip(history, events, strict=True)
        ]
        context = {
            **self.admin_site.each_context(request),  # type: ignore[attr-defined]
            "opts": self.model._meta,  # type: ignore[attr-defined]
            "title": f"{self.stream_repository.store.stream_type} {aggregate_id}",
            "row": row,
            "entries": entries,
        }
        return TemplateResponse(request, "admin/edn_core/stream.html", context)
