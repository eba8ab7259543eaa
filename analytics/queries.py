"""Read side of analytics: selectors over the analytics alias."""

from uuid import UUID

from django.db.models import QuerySet

from analytics.models import AnalyticsActivity, AnalyticsRecord


def list_analytics(*, name: str | None = None) -> QuerySet[AnalyticsRecord]:
    """Return them ordered by name; ``name`` matches part of it, any case."""
    rows = AnalyticsRecord.objects.all()
    if name:
        rows = rows.filter(name__icontains=name)
    return rows


def get_analytics(analytics_id: UUID) -> AnalyticsRecord | None:
    return AnalyticsRecord.objects.filter(pk=analytics_id).first()


def list_activity(*, topic: str | None = None) -> QuerySet[AnalyticsActivity]:
    """Return the events this service reacted to, newest first; ``topic`` picks one topic."""
    rows = AnalyticsActivity.objects.all()
    if topic:
        rows = rows.filter(topic=topic)
    return rows
