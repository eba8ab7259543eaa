"""Write side of analytics: commands and their handlers (sent with edn_core.cqrs.send)."""

from dataclasses import dataclass
from uuid import UUID

from analytics.domain import Analytics
from analytics.models import AnalyticsActivity, AnalyticsRepository
from edn_core.cqrs import Command, handles
from edn_core.domain import new_id
from edn_core.events import IntegrationEvent

repository = AnalyticsRepository()


@dataclass(frozen=True, kw_only=True)
class CreateAnalytics(Command):
    name: str
    analytics_id: UUID | None = None


@dataclass(frozen=True, kw_only=True)
class RenameAnalytics(Command):
    analytics_id: UUID
    expected_version: int | None
    name: str


@handles(CreateAnalytics)
def create_analytics(cmd: CreateAnalytics) -> Analytics:
    created = Analytics.create(cmd.analytics_id or new_id(), name=cmd.name)
    with repository.atomic():
        repository.add(created)
    return created


@handles(RenameAnalytics)
def rename_analytics(cmd: RenameAnalytics) -> Analytics:
    return repository.change(
        cmd.analytics_id, lambda found: found.rename(cmd.name), cmd.expected_version
    )


@dataclass(frozen=True, kw_only=True)
class RecordActivity(Command):
    """Remember the events of a delivery batch this service reacted to."""

    events: list[IntegrationEvent]


@handles(RecordActivity)
def record_activity(cmd: RecordActivity) -> int:
    """One insert per batch; an event recorded before is skipped (its id is unique)."""
    rows = [
        AnalyticsActivity(
            topic=event.topic,
            event_id=event.id,
            subject=event.aggregate_id,
            occurred_at=event.time,
        )
        for event in cmd.events
    ]
    return len(AnalyticsActivity.objects.bulk_create(rows, ignore_conflicts=True))
