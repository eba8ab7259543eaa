"""Server-side conditions: what stops a command or a delivery that its sender cannot fix (a
service it needs is away, a setup step is missing).

Plain Python, so the consumer path meets no HTTP type: the bus postpones or dead-letters a
delivery one stops, by its type, and only the HTTP edge (:mod:`edn_core.cqrs.problems`)
answers one, as a 503 problem with ``Retry-After`` (decision 0032).
"""

from __future__ import annotations

__all__ = ["ServerSideCondition"]


class ServerSideCondition(Exception):
    """Raise for a condition on the server's side: ``code`` names the problem type,
    ``retry_after`` (seconds) says when to try again, ``message`` says what is wrong."""

    code = "service-unavailable"
    default_message = "The service cannot handle this request now; try again later."
    retry_after = 5

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)
