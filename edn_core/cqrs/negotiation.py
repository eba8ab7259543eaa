"""Content negotiation that honours the client's order of preference in ``Accept``."""

from __future__ import annotations

from django.http.request import MediaType
from rest_framework import exceptions
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.utils.mediatypes import media_type_matches

__all__ = ["PreferenceOrderNegotiation"]


class PreferenceOrderNegotiation(DefaultContentNegotiation):
    """Pick the renderer the client prefers: by q-value, then specificity, then the order
    of its ``Accept`` header.

    DRF's own negotiation ignores q-values and, among equally specific types, picks the
    view's first renderer; a client listing a vendor type first then gets plain JSON.
    ``*/*`` (or no ``Accept``) still gets the view's first renderer. ``?format=`` is no
    override here: registry clients use that parameter for something else.
    """

    def select_renderer(self, request, renderers, format_suffix=None):
        tokens = self.get_accept_list(request) or ["*/*"]
        accepted = [media for media in map(MediaType, tokens) if media.quality > 0]
        # sorted() is stable, so equally ranked types keep the header's order.
        ranked = sorted(accepted, key=lambda m: (m.quality, m.specificity), reverse=True)
        for wanted in ranked:
            for renderer in renderers:
                if media_type_matches(renderer.media_type, str(wanted)):
                    return renderer, renderer.media_type
        raise exceptions.NotAcceptable(available_renderers=renderers)
