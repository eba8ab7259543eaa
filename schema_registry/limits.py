"""How large a schema the registry takes, from the settings."""

from edn_core.conf import edn_settings
from schema_registry.domain import Limits


def schema_limits() -> Limits:
    """The limits on a schema the settings give (``EDN_SCHEMA_MAX_BYTES``, ``_DEPTH``,
    ``_SUBSCHEMAS``)."""
    given = edn_settings().schemas
    return Limits(given.max_bytes, given.max_depth, given.max_subschemas)
