"""The Analytics aggregate: an identity and a name (pure Python: no framework).

Grow it here: every state change is a method that checks its rules, raises a
:class:`~edn_core.domain.DomainError` to refuse, and records the domain event it caused.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from edn_core.domain import AggregateRoot, DomainEvent, ValidationFailed

NAME_MAX = 200


@dataclass(frozen=True, kw_only=True)
class AnalyticsCreated(DomainEvent):
    name: str


@dataclass(frozen=True, kw_only=True)
class AnalyticsRenamed(DomainEvent):
    name: str


def _check(name: str) -> None:
    if not name.strip():
        raise ValidationFailed({"name": ["This field may not be blank."]})
    if len(name) > NAME_MAX:
        raise ValidationFailed(
            {"name": [f"Ensure this field has no more than {NAME_MAX} characters."]}
        )


class Analytics(AggregateRoot):
    kind = "analytics"

    def __init__(self, id: uuid.UUID, *, name: str, version: int = 0) -> None:
        super().__init__(id, version)
        self.name = name

    @classmethod
    def create(cls, id: uuid.UUID, *, name: str) -> Analytics:
        _check(name)
        created = cls(id, name=name)
        created.record(AnalyticsCreated(aggregate_id=id, name=name))
        return created

    def rename(self, name: str) -> None:
        """Give it another name; the same name again changes nothing."""
        _check(name)
        if name != self.name:
            self.name = name
            self.record(AnalyticsRenamed(aggregate_id=self.id, name=name))
