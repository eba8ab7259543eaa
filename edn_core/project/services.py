"""Which of a project's service apps this process hosts.

Each service app owns one database alias named after its label. ``EDN_SERVICES`` (a comma
list, default: all) picks the subset a process hosts, so the same code runs as a modular
monolith or as one process per app.
"""

from collections.abc import Sequence

from django.core.exceptions import ImproperlyConfigured


def hosted_services(raw: str, known: Sequence[str]) -> list[str]:
    """Return the service apps named in ``raw`` (comma list; blank or ``all`` means every one).

    :param raw: the value of ``EDN_SERVICES``.
    :param known: the project's service apps, in their order.
    """
    names = [part.strip() for part in raw.split(",") if part.strip()]
    if not names or names == ["all"]:
        return list(known)
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise ImproperlyConfigured(
            f"EDN_SERVICES names unknown service(s) {unknown}; known: {list(known)}"
        )
    return [name for name in known if name in names]
