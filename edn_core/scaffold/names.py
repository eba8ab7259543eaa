"""What a new service may be called, and the topics it may handle."""

from __future__ import annotations

import builtins
import keyword
import re
import sys
from importlib.util import find_spec
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.management.base import CommandError

from edn_core.envelope import TOPIC
from edn_core.events import published_topics

__all__ = [
    "MAX_LENGTH",
    "camel_case",
    "check_name",
    "check_topics",
    "created_topic",
    "handler_name",
]

# The bus tables' index names carry the app label ("<label>_outbox_pending") and Django
# allows 30 characters in an index name.
MAX_LENGTH = 15
# Lowercase words joined by single underscores: a Python package, a database alias, and with
# "-" for "_" a DNS label (process names, Kubernetes, Dapr app ids).
NAME = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*\Z")
# Names the platform gives a meaning of its own: the default database alias.
RESERVED = {"default"}


def camel_case(name: str) -> str:
    """``order_history`` -> ``OrderHistory``, as Django's ``camel_case_app_name``."""
    return "".join(x for x in name.title() if x != "_")


def created_topic(name: str) -> str:
    """The topic the new app publishes: ``v1.OrderHistoryCreated``."""
    return f"v1.{camel_case(name)}Created"


def check_name(name: str, root: Path | None = None) -> None:
    """Raise :class:`CommandError` unless ``name`` can be a new service app of the project.

    :param root: the project's folder (default ``settings.BASE_DIR``), where the app and its
        tests (``tests/<name>``) will be created.
    """
    root = Path(root or settings.BASE_DIR)
    if not NAME.match(name):
        raise CommandError(
            f"{name!r} is not a service name: use lowercase letters, digits and single "
            "underscores, starting with a letter (e.g. shipping, order_history)."
        )
    if len(name) > MAX_LENGTH:
        raise CommandError(
            f"{name!r} is longer than {MAX_LENGTH} characters (the bus tables' index names "
            "start with it, and Django allows 30 characters in an index name)."
        )
    known = {*settings.EDN_SERVICE_APPS, *settings.EDN_SAGA_APPS}
    if name in known or any(c.label == name for c in apps.get_app_configs()):
        raise CommandError(f"{name!r} is already an app of this project.")
    if keyword.iskeyword(name) or keyword.issoftkeyword(name) or hasattr(builtins, name):
        raise CommandError(f"{name!r} is a Python keyword or built-in name: pick another.")
    if name in sys.stdlib_module_names or find_spec(name) is not None:
        raise CommandError(f"{name!r} is the name of an existing Python module: pick another.")
    if find_spec(f"django.contrib.{name}") is not None:
        raise CommandError(f"{name!r} is the label of a Django contrib app: pick another.")
    if name in RESERVED:
        raise CommandError(f"{name!r} is the platform's own database alias: pick another.")
    for taken in (root / name, root / "tests" / name):
        if taken.exists():
            raise CommandError(f"{taken} already exists.")
    if created_topic(name) in published_topics():
        raise CommandError(f"another app publishes {created_topic(name)}: pick another name.")


def check_topics(topics: list[str]) -> list[str]:
    """Return the topics, each once, in order; raise for one that is not ``v<n>.Name``."""
    wrong = [topic for topic in topics if not TOPIC.match(topic)]
    if wrong:
        raise CommandError(
            f"--handles takes topics like v1.OrderPlaced, not {', '.join(map(repr, wrong))}."
        )
    return list(dict.fromkeys(topics))


def handler_name(topic: str) -> str:
    """The handler of ``topic`` in the new app's events module: ``v1.OrderPlaced`` ->
    ``record_order_placed`` (``record_order_placed_v2`` for ``v2.OrderPlaced``)."""
    version, name = topic.split(".", 1)
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()
    return f"record_{snake}" + ("" if version == "v1" else f"_{version}")
