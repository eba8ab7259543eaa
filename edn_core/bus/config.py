"""Bus settings (``settings.EDN_BUS``), with defaults: part of :mod:`edn_core.conf`."""

from edn_core.conf import BusConfig, edn_settings

__all__ = ["BusConfig", "bus_config"]


def bus_config() -> BusConfig:
    """Return the active bus configuration (``settings.EDN_BUS`` keys are field names)."""
    return edn_settings().bus
