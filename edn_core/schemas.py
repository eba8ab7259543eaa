"""Validate integration event data against the schema registry, with compiled validators cached.

The registry is reached through a :class:`SchemaSource`, installed at startup: the
``schema_registry`` app installs a local one when this process hosts it (it takes precedence);
otherwise ``edn_core``'s app config installs the HTTP client of the registry
``EDN_SCHEMA_REGISTRY_URL`` names (:mod:`edn_core.schema_client`). The port's types and errors
are in :mod:`edn_core.schema_source` (re-exported here). Registered versions are immutable, so
a fetched version and its compiled validators are cached for the life of the process;
"latest" is re-read after ``EDN_SCHEMA_LATEST_TTL`` seconds.

The checks themselves: :mod:`edn_core.schema_checks`.
"""

from __future__ import annotations

import time

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
    ttl = edn_settings().schemas.latest_ttl
    cached = _cache.latest.get(subject)
    if version is None and cached and (_local is not None or time.monotonic() - cached[0] < ttl):
        return cached[1]
    which = "latest" if version is None else f"version {version}"
    try:
        found = source().get(subject, version)
    except RegistryUnavailable as error:
        raise RegistryUnavailable(
            f"{error.message} The schema of {subject} ({which}) is not cached here: try again "
            "later; the operator must check the registry EDN_SCHEMA_REGISTRY_URL names."
        ) from error
    if found is None:
        raise UnknownSchema(
            f"No schema is registered for {subject} ({which}). The operator must register the "
            "services' event schemas: run `python manage.py edn_schemas register` (`migrate_all`"
            " does it where the registry is hosted in the same process)."
        )
    with _cache.lock:
        _cache.versions[subject, found.version] = found
        if version is None:
            _cache.latest[subject] = (time.monotonic(), found)
    return found


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
    schema = lookup(topic, None)
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
