"""Validate integration event data against the schema registry, with compiled validators cached.

The registry is reached through a :class:`SchemaSource`, installed at startup: the
``schema_registry`` app installs a local one when this process hosts it (it takes precedence);
otherwise ``edn_core``'s app config installs the HTTP client of the registry
``EDN_SCHEMA_REGISTRY_URL`` names (:mod:`edn_core.schema_client`). The port's types and errors
are in :mod:`edn_core.schema_source` (re-exported here). Registered versions are immutable, so
a fetched version and its compiled validators are cached for the life of the process;
"latest" is re-read after ``EDN_SCHEMA_LATEST_TTL`` seconds -- from a remote registry never
inside a transaction: :func:`prepare_for_publish` resolves the topics a process publishes
before a command's or a delivery's transaction opens, and a publish inside one uses what it
prepared (no HTTP call while rows are locked).

The checks themselves: :mod:`edn_core.schema_checks`.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connections

from edn_core.conf import edn_settings
from edn_core.schema_checks import SchemaCache
from edn_core.schema_source import (
    BadSchemaReference,
    EventSchemaViolation,
    RegisteredSchema,
    RegistryUnavailable,
    SchemaRefused,
    SchemaSource,
    UnknownSchema,
    parse_reference,
    reference,
)

__all__ = [
    "BadSchemaReference",
    "EventSchemaViolation",
    "RegisteredSchema",
    "RegistryUnavailable",
    "SchemaRefused",
    "SchemaSource",
    "UnknownSchema",
    "forget_cached",
    "install_local_source",
    "install_remote_source",
    "prepare_for_publish",
    "reference",
    "source",
    "validate_for_consume",
    "validate_for_publish",
]


_cache = SchemaCache()
_local: SchemaSource | None = None
_remote: SchemaSource | None = None


def install_local_source(source: SchemaSource | None) -> None:
    """Called by the schema_registry app when this process hosts the registry."""
    global _local
    _local = source
    _cache.clear()


def install_remote_source(source: SchemaSource | None) -> None:
    """Called at startup with the client of the remote registry (None: there is none). What
    is cached stays: registered versions are immutable wherever they were read."""
    global _remote
    _remote = source


def forget_cached() -> None:
    """Drop every cached schema and validator (the hosted registry changed)."""
    _cache.clear()


def source() -> SchemaSource | None:
    """Return the registry this process uses: its own, or the remote one, or None."""
    return _local if _local is not None else _remote


def validation_enabled() -> bool:
    return source() is not None and edn_settings().schemas.validation


def lookup(subject: str, version: int | None) -> RegisteredSchema:
    """Return a registered schema (cached); raise UnknownSchema or RegistryUnavailable."""
    if version is not None and (subject, version) in _cache.versions:
        return _cache.versions[subject, version]
    if version is None and (cached := _fresh_latest(subject)) is not None:
        return cached
    which = "latest" if version is None else f"version {version}"
    try:
        found = source().get(subject, version)
    except RegistryUnavailable as error:
        raise _unreachable(subject, which, error.message) from error
    if found is None:
        raise UnknownSchema(
            f"No schema is registered for {subject} ({which}). The operator must register the "
            "services' event schemas: run `python manage.py edn_schemas register` (`migrate_all`"
            " does it where the registry is hosted in the same process)."
        )
    _cache.versions[subject, found.version] = found
    if version is None:
        _cache.keep_latest(subject, found)
    return found


def _unreachable(subject: str, which: str, why: str) -> RegistryUnavailable:
    return RegistryUnavailable(
        f"{why} The schema of {subject} ({which}) is not cached here: try again later; the "
        "operator must check the registry EDN_SCHEMA_REGISTRY_URL names."
    )


def _fresh_latest(subject: str) -> RegisteredSchema | None:
    ttl = None if _local is not None else edn_settings().schemas.latest_ttl
    return _cache.latest_within(subject, ttl)


def _in_transaction() -> bool:
    return any(c.in_atomic_block for c in connections.all(initialized_only=True))


def prepare_for_publish(topics: Iterable[str]) -> None:
    """Call before a transaction that may publish opens: cache the latest schema of each of
    ``topics`` (fetched if missing or older than the TTL) and compile its validator, so that
    no publish inside the transaction reaches the registry. A refusal is kept, and asked
    again only after its ``retry_after``: a publish of that topic in the transaction raises
    it. Once the registry does not answer, the other topics are not asked this time.
    Only a remote registry is prepared for (a hosted one is read from the database, as
    before); inside an open transaction this does nothing (the outermost caller prepared)."""
    if not validation_enabled() or _local is not None or _in_transaction():
        return
    outage = None
    for topic in topics:
        schema = _fresh_latest(topic)
        if schema is None and _cache.refusal(topic, recent=True) is None:
            try:
                if outage is not None:
                    raise _unreachable(topic, "latest", outage)
                schema = lookup(topic, None)
            except (UnknownSchema, RegistryUnavailable) as error:
                _cache.refuse(topic, error)
                if isinstance(error, RegistryUnavailable) and error.__cause__ is not None:
                    outage = error.__cause__.message
        if schema is not None:
            _cache.checks.prepare(schema.id, schema.document)


def _latest_for_publish(topic: str) -> RegisteredSchema:
    """Inside a transaction, what :func:`prepare_for_publish` left (whatever its age); the
    registry is asked only for a topic nobody prepared."""
    if _in_transaction():
        if (refused := _cache.refusal(topic)) is not None:
            raise type(refused)(refused.message)
        if (cached := _cache.latest_within(topic, None)) is not None:
            return cached
    return lookup(topic, None)


def _errors(schema: RegisteredSchema, data: dict) -> dict[str, list[str]]:
    return _cache.checks.errors(schema.id, schema.document, data)


def validate_for_publish(topic: str, data: dict) -> str | None:
    """Check ``data`` against the latest schema of ``topic``; return the ``dataschema``.

    Raise :class:`EventSchemaViolation` (the command fails, nothing is written), or, for a
    server-side condition (503), :class:`UnknownSchema` or :class:`RegistryUnavailable`.
    Return None when no registry is configured.
    """
    if not validation_enabled():
        return None
    schema = _latest_for_publish(topic)
    errors = _errors(schema, data)
    if errors:
        raise EventSchemaViolation(topic, errors, reference(schema))
    return reference(schema)


def validate_for_consume(topic: str, data: dict, dataschema: str | None) -> None:
    """Check a received event against the version its envelope names (else the latest)."""
    if not validation_enabled():
        return
    named = parse_reference(dataschema) if dataschema else None
    if dataschema and (named is None or named[0] != topic):
        raise BadSchemaReference(topic, dataschema)
    schema = lookup(topic, named[1] if named else None)
    errors = _errors(schema, data)
    if errors:
        raise EventSchemaViolation(topic, errors, reference(schema))
