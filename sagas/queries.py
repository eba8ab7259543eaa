"""Read side of sagas: selectors over the sagas alias."""

from datetime import timedelta
from uuid import UUID

from django.db.models import QuerySet
from django.utils import timezone

from sagas.models import SagaRecord


def list_sagas(
    *,
    state: str | None = None,
    saga_type: str | None = None,
    key: str | None = None,
    older_than_seconds: float | None = None,
) -> QuerySet[SagaRecord]:
    rows = SagaRecord.objects.defer("history")  # replay reads it, the API does not
    if state:
        rows = rows.filter(state=state)
    if saga_type:
        rows = rows.filter(saga_type=saga_type)
    if key:
        rows = rows.filter(key=key)
    if older_than_seconds is not None:
        rows = rows.filter(created_at__lte=timezone.now() - timedelta(seconds=older_than_seconds))
    return rows


def get_saga(saga_id: UUID) -> SagaRecord | None:
    return SagaRecord.objects.defer("history").filter(pk=saga_id).first()
