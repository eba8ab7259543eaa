"""``manage.py edn_startservice NAME [--handles TOPIC ...]``: a new service app in the standard
shape, with its tests, added to the project's service list and wired everywhere.

The app is rendered in a scratch folder and moved into the project only when complete; then
``<project>/services.py`` lists it, and fresh processes (whose settings include it) make its
migrations and regenerate every per-service file (``edn_wiring write``). A failing step
removes what the earlier ones added.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import import_module
from importlib.util import find_spec
from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError

from edn_core.scaffold.names import check_name, check_topics
from edn_core.scaffold.render import render_service
from edn_core.scaffold.service_list import add_service

__all__ = ["start_service"]


def start_service(name: str, handles: list[str], say: Callable[[str], None] = print) -> None:
    """Create the service app ``name`` handling ``handles`` (topics) and wire it.

    :param say: called with a line for each step done.
    """
    if not getattr(settings, "EDN_PROJECT", "") or not _settings_module():
        raise CommandError(
            "not a project on the platform: its settings come from "
            "edn_core.project.settings.platform_settings and DJANGO_SETTINGS_MODULE."
        )
    check_name(name)
    topics = check_topics(handles)
    root = Path(settings.BASE_DIR)
    service_list = Path(import_module(f"{settings.EDN_PROJECT}.services").__file__)
    with _undone_on_failure() as undo:
        with tempfile.TemporaryDirectory(prefix="edn_startservice_") as scratch:
            app, tests = render_service(name, topics, Path(scratch))
            tests_root = _tests_folder(root, undo)
            for made, where in ((app, root / name), (tests, tests_root / name)):
                shutil.move(made, where)
                undo.append(lambda where=where: shutil.rmtree(where, ignore_errors=True))
                say(f"created {where.relative_to(root)}/")
        _format(root, [root / name, tests_root / name])
        old = add_service(service_list, name)
        undo.append(lambda: service_list.write_text(old))
        say(f"added {name!r} to SERVICE_APPS in {service_list.relative_to(root)}")
        for line in _manage(root, "makemigrations", name) + _manage(root, "edn_wiring", "write"):
            say(line)
    say(f"Next: python manage.py migrate_all, then run tests/{name} and the project's checks.")


@contextmanager
def _undone_on_failure() -> Iterator[list[Callable[[], object]]]:
    undo: list[Callable[[], object]] = []
    try:
        yield undo
    except BaseException:
        for step in reversed(undo):
            step()
        raise


def _tests_folder(root: Path, undo: list) -> Path:
    """``tests/`` of the project, a package (so ``tests/<name>`` never shadows the app)."""
    tests = root / "tests"
    if not tests.exists():
        tests.mkdir()
        (tests / "__init__.py").write_text("")
        undo.append(lambda: shutil.rmtree(tests, ignore_errors=True))
    return tests


def _settings_module() -> str:
    # None under override_settings (a test); the variable names the same module then
    return settings.SETTINGS_MODULE or os.environ.get("DJANGO_SETTINGS_MODULE", "")


def _manage(root: Path, *args: str) -> list[str]:
    """Run a management command in a fresh process: its settings include the new app. Every
    service app is hosted there (the wiring needs them all)."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": _settings_module(), "EDN_SERVICES": ""}
    # -m django puts the project's folder (the working directory) first on the path, as
    # manage.py does, and needs no manage.py of a particular shape.
    done = subprocess.run(
        [sys.executable, "-m", "django", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise CommandError(
            f"`manage.py {' '.join(args)}` failed, nothing was added:\n{done.stderr.strip()}"
        )
    return done.stdout.splitlines()


def _format(root: Path, paths: list[Path]) -> None:
    """Sort imports and format with the project's ruff settings when ruff is installed: the
    template sorts edn_core with the project's own packages, an installed platform's project
    sorts it with the third-party ones."""
    ruff = [sys.executable, "-m", "ruff"] if find_spec("ruff") else [shutil.which("ruff")]
    if ruff[0] is None:
        return
    files = [str(path) for path in paths]
    for args in (["check", "--fix", "--select", "I", "--exit-zero"], ["format"]):
        subprocess.run(
            [*ruff, *args, "--quiet", "--no-cache", *files], cwd=root, capture_output=True
        )
