"""Bus settings (``settings.EDN_BUS``), with defaults."""

from dataclasses import dataclass, fields

from django.conf import settings

__all__ = ["BusConfig", "bus_config"]


@dataclass(frozen=True)
class BusConfig:
    max_attempts: int = 5
    retry_base_seconds: float = 1.0
    retry_max_seconds: float = 300.0
    retry_lease_seconds: float = 60.0
    relay_batch: int = 1000
    message_batch: int = 100
    sweep_seconds: float = 5.0
    inbox_ttl_days: int = 7
    sent_retention_days: int = 7
    in_process: bool = False


def bus_config() -> BusConfig:
    """Return the active bus configuration (``settings.EDN_BUS`` keys are field names)."""
    given = getattr(settings, "EDN_BUS", {})
    known = {f.name for f in fields(BusConfig)}
    unknown = set(given) - known
    if unknown:
        raise ValueError(f"unknown EDN_BUS settings {sorted(unknown)}; known: {sorted(known)}")
    return BusConfig(**given)
