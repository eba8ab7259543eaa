"""HTTP side of analytics: input/output DTOs, the command viewset and the query viewset
(and one for the activity read model)."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status

from analytics import commands, queries
from analytics.domain import NAME_MAX
from edn_core.cqrs.dto import StrictCharField, StrictSerializer
from edn_core.cqrs.viewsets import CommandViewSet, QueryViewSet


class AnalyticsIn(StrictSerializer):
    name = StrictCharField(max_length=NAME_MAX)


class AnalyticsOut(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


class AnalyticsFilter(StrictSerializer):
    name = StrictCharField(required=False, max_length=NAME_MAX, help_text="part of the name")


@extend_schema(tags=["analytics"])
class AnalyticsCommands(CommandViewSet):
    output_serializer_class = AnalyticsOut
    detail_route = "analytics-detail"

    @extend_schema(request=AnalyticsIn, responses={201: AnalyticsOut})
    def create(self, request):
        """Create one; answers 201 with Location and ETag."""
        data = self.read(AnalyticsIn)
        command = commands.CreateAnalytics(**data)
        return self.run(command, status_code=status.HTTP_201_CREATED)

    @extend_schema(request=AnalyticsIn, responses={200: AnalyticsOut})
    def update(self, request, pk):
        """Rename one; needs If-Match with the current ETag."""
        version = self.if_match()
        data = self.read(AnalyticsIn)
        command = commands.RenameAnalytics(analytics_id=pk, expected_version=version, **data)
        return self.run(command)


@extend_schema(tags=["analytics"])
class AnalyticsQueries(QueryViewSet):
    output_serializer_class = AnalyticsOut
    filter_serializer_class = AnalyticsFilter

    def select_many(self, filters):
        return queries.list_analytics(name=filters.get("name"))

    def select_one(self, pk):
        return queries.get_analytics(pk)

    def list(self, request, *args, **kwargs):
        """List them by name, paginated; ``name`` filters on part of it."""
        return super().list(request, *args, **kwargs)

    def retrieve(self, request, *args, **kwargs):
        """Get one with its ETag; If-None-Match answers 304 when unchanged."""
        return super().retrieve(request, *args, **kwargs)


class ActivityOut(serializers.Serializer):
    topic = serializers.CharField()
    eventId = serializers.CharField(source="event_id")
    subject = serializers.CharField()
    occurredAt = serializers.DateTimeField(source="occurred_at")
    recordedAt = serializers.DateTimeField(source="recorded_at")


class ActivityFilter(StrictSerializer):
    topic = StrictCharField(required=False, max_length=200, help_text="one topic only")


@extend_schema(tags=["analytics"])
class ActivityQueries(QueryViewSet):
    output_serializer_class = ActivityOut
    filter_serializer_class = ActivityFilter

    def select_many(self, filters):
        return queries.list_activity(topic=filters.get("topic"))

    def list(self, request, *args, **kwargs):
        """List the events this service reacted to, newest first, paginated."""
        return super().list(request, *args, **kwargs)
