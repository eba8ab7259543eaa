"""Save many aggregates of one model in one statement per chunk, with optimistic concurrency.

``UPDATE t SET col = CASE id WHEN … END, …, version = CASE id WHEN … END
WHERE (id = a AND version = va) OR (id = b AND version = vb) …`` — every row must match its
loaded version, or the whole save raises :class:`~edn_core.domain.ConcurrencyConflict` (the
caller's transaction rolls back). Portable: the ORM builds it for every database.
"""

from __future__ import annotations

from functools import reduce
from operator import or_
from typing import Any

from django.db import models
from django.db.models import Case, Q, Value, When

from edn_core.domain import ConcurrencyConflict

__all__ = ["update_versioned"]

CHUNK = 100  # aggregates per statement (parameters: about 3 per field per aggregate)


def update_versioned(
    manager: models.QuerySet, rows: list[tuple[Any, int, int, dict[str, Any]]]
) -> None:
    """Apply ``(pk, loaded version, new version, column values)`` rows; all or nothing."""
    model = manager.model
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        match = reduce(or_, (Q(pk=pk, version=loaded) for pk, loaded, _, _ in chunk))
        columns = {name for *_, values in chunk for name in values}
        changes = {
            name: _case(model, name, [(pk, values[name]) for pk, _, _, values in chunk])
            for name in sorted(columns)
        }
        changes["version"] = _case(model, "version", [(pk, new) for pk, _, new, _ in chunk])
        updated = manager.filter(match).update(**changes)
        if updated != len(chunk):
            raise ConcurrencyConflict(
                f"{len(chunk) - updated} of {len(chunk)} {model._meta.verbose_name_plural} "
                "changed concurrently.",
                expected=None,
                actual=None,
            )


def _case(model: type[models.Model], name: str, values: list[tuple[Any, Any]]) -> Case:
    field = model._meta.get_field(name)
    whens = [When(pk=pk, then=Value(value, output_field=field)) for pk, value in values]
    return Case(*whens, output_field=field)
