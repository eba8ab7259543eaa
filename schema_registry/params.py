"""Query parameters of the registry API (Confluent's names); unknown ones are ignored."""

from rest_framework import serializers

MAX_INT = 2**31 - 1


class Paged(serializers.Serializer):
    offset = serializers.IntegerField(
        min_value=0, max_value=MAX_INT, default=0, help_text="skip this many results"
    )
    limit = serializers.IntegerField(
        min_value=-1, max_value=MAX_INT, default=-1, help_text="at most this many (-1: all)"
    )


class DeletedQuery(serializers.Serializer):
    deleted = serializers.BooleanField(default=False, help_text="include soft-deleted entries")


class ListedQuery(Paged, DeletedQuery):
    deletedOnly = serializers.BooleanField(
        default=False, help_text="only soft-deleted entries (wins over deleted)"
    )


class SubjectsQuery(ListedQuery):
    subjectPrefix = serializers.CharField(
        default="",
        allow_blank=True,
        trim_whitespace=False,
        max_length=200,
        help_text="only subjects whose name starts with this",
    )


class NormalizeQuery(serializers.Serializer):
    normalize = serializers.BooleanField(
        default=False,
        help_text="accepted for Confluent's clients; documents are always compared in canonical"
        " form (sorted keys), so it changes nothing",
    )


class LookupQuery(NormalizeQuery, DeletedQuery):
    pass


class CompatibilityQuery(NormalizeQuery):
    verbose = serializers.BooleanField(
        default=False, help_text="accepted for Confluent's clients; messages are always listed"
    )


class PermanentQuery(serializers.Serializer):
    permanent = serializers.BooleanField(
        default=False, help_text="hard delete (only after a soft delete); the default is soft"
    )


def read(query_class: type[serializers.Serializer], request) -> dict:
    """Return the validated query parameters of ``request`` (400 problem when malformed)."""
    query = query_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    return query.validated_data


def page(items: list, query: dict) -> list:
    """Return the slice of ``items`` that ``offset`` and ``limit`` select."""
    rest = items[query["offset"] :]
    return rest if query["limit"] < 0 else rest[: query["limit"]]
