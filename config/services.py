"""The service apps this project can host, and which of them this process hosts.

Each service app owns one database alias named after its label. ``EDN_SERVICES`` (a comma
list, default: all) picks the subset a process hosts, so the same code runs as a modular
monolith or as one process per app.
"""

from django.core.exceptions import ImproperlyConfigured

SERVICE_APPS: tuple[str, ...] = ("customers", "orders", "inventory", "sagas", "schema_registry")


def hosted_services(raw: str) -> list[str]:
    """Return the service apps named in ``raw`` (comma list; blank or ``all`` means every one)."""
    names = [part.strip() for part in raw.split(",") if part.strip()]
    if not names or names == ["all"]:
        return list(SERVICE_APPS)
    unknown = sorted(set(names) - set(SERVICE_APPS))
    if unknown:
        raise ImproperlyConfigured(
            f"EDN_SERVICES names unknown service(s) {unknown}; known: {list(SERVICE_APPS)}"
        )
    return [name for name in SERVICE_APPS if name in names]
