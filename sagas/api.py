"""HTTP side of sagas: saga state for people and tools, and the operator's two actions."""

from datetime import datetime

from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from edn_core.cqrs.dto import StrictCharField, StrictSerializer
from edn_core.cqrs.openapi import field_examples, wrong_state
from edn_core.cqrs.viewsets import CommandViewSet, QueryViewSet
from edn_core.scopes import SAGAS_OPERATE
from sagas import commands, queries
from sagas.states import SagaState


def with_durations(steps: list[dict]) -> list[dict]:
    """The stored timeline, each phase with ``durationMs`` (None while it runs)."""
    shown = []
    for step in steps:
        shown.append({"name": step["name"]})
        for kind in ("action", "compensation"):
            phase = dict(step[kind])
            start, end = phase.get("startedAt"), phase.get("endedAt")
            phase["durationMs"] = (
                round(
                    (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
                    * 1000,
                    3,
                )
                if start and end
                else None
            )
            shown[-1][kind] = phase
    return shown


ORDER = "5f0c2a8e-8d1b-4c6e-9a57-3e2b1d0c4f18"  # the saga's key: the order it creates


@field_examples(
    id="9c3e7b21-4a6f-4d0b-8e15-2f7a9c1d3b64",
    type="CreateOrder",
    key=ORDER,
    state="Executing",
    currentStep="ReserveProductInventory",
    reason="",
    deadline="2026-12-01T12:00:30Z",
    createdAt="2026-12-01T12:00:00Z",
    updatedAt="2026-12-01T12:00:00.250000Z",
    data={"orderId": ORDER},
)
class SagaOut(serializers.Serializer):
    id = serializers.UUIDField()
    type = serializers.CharField(source="saga_type")
    key = serializers.CharField()
    state = serializers.ChoiceField(choices=[s.value for s in SagaState])
    currentStep = serializers.CharField(source="current_step_name")
    reason = serializers.CharField()
    deadline = serializers.DateTimeField(allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")
    data = serializers.JSONField()
    steps = serializers.SerializerMethodField()

    def get_steps(self, row) -> list[dict]:
        return with_durations(row.steps)


@field_examples(reason="The customer called to cancel the order.")
class CancelIn(StrictSerializer):
    reason = StrictCharField(max_length=500)


TRANSITION = {200: SagaOut, 409: wrong_state("saga")}


@extend_schema(tags=["sagas"])
class SagaCommands(CommandViewSet):
    required_scopes = SAGAS_OPERATE
    output_serializer_class = SagaOut
    detail_route = "sagas-detail"

    @extend_schema(request=CancelIn, responses=TRANSITION)
    def cancel(self, request, pk):
        """Stop waiting: an executing saga compensates, a compensating one needs attention."""
        version = self.if_match()
        reason = self.read(CancelIn)["reason"]
        return self.run(commands.CancelSaga(saga_id=pk, reason=reason, expected_version=version))

    @extend_schema(request=None, responses=TRANSITION)
    def retry(self, request, pk):
        """Send the failed compensation of a NeedsAttention saga again."""
        version = self.if_match()
        return self.run(commands.RetryCompensation(saga_id=pk, expected_version=version))


class SagaFilter(StrictSerializer):
    state = serializers.ChoiceField(choices=[s.value for s in SagaState], required=False)
    type = StrictCharField(required=False, max_length=100)
    key = StrictCharField(required=False, max_length=100)
    # A century back at most: further than that is before any saga, and before year 1 fails.
    olderThanSeconds = serializers.FloatField(
        required=False, min_value=0, max_value=100 * 365.25 * 24 * 3600
    )


@extend_schema(tags=["sagas"])
class SagaQueries(QueryViewSet):
    output_serializer_class = SagaOut
    filter_serializer_class = SagaFilter

    def select_many(self, filters):
        return queries.list_sagas(
            state=filters.get("state"),
            saga_type=filters.get("type"),
            key=filters.get("key"),
            older_than_seconds=filters.get("olderThanSeconds"),
        )

    def select_one(self, pk):
        return queries.get_saga(pk)

    def list(self, request, *args, **kwargs):
        """List sagas, newest first; filter by ``state``, ``type``, ``key`` (e.g. an order id)
        and ``olderThanSeconds``."""
        return super().list(request, *args, **kwargs)

    def retrieve(self, request, *args, **kwargs):
        """Get one saga: its state, current step and every step's timeline with durations."""
        return super().retrieve(request, *args, **kwargs)
