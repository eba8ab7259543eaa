"""The ``edn`` console script: ``edn startproject NAME [DIR]`` creates a project on the platform.

The project holds settings from the environment, URLs, the Celery app, the gunicorn
configuration, ``scripts/run`` and ``scripts/test``, ``.ci/run``, tests, and the deploy
skeleton: its overlays, then every generated file (``manage.py edn_wiring write``).
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from django.core.management.base import CommandError
from django.core.management.templates import TemplateCommand

TEMPLATE = Path(__file__).resolve().parent / "project_template"
RENDERED = ["py", "toml", "md", "yaml", "env"]
RENDERED_FILES = ["run", "test", "_setup.sh", "common.env"]
RENAMED = {"_ci": ".ci", "gitignore": ".gitignore"}
EXECUTABLE = ["manage.py", "scripts/run", "scripts/test", ".ci/run"]


def platform_version() -> str:
    try:
        return version("event-driven-django")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "0+unknown"


def startproject(name: str, directory: str | None = None, *, verbosity: int = 1) -> Path:
    """Create the project ``name`` in ``directory`` (default: a new folder ``./name``)."""
    if directory is not None:
        Path(directory).mkdir(parents=True, exist_ok=True)
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    command = TemplateCommand()
    command.rewrite_template_suffixes = ((".py-tpl", ".py"), (".toml-tpl", ".toml"))
    command.handle(
        "project",
        name,
        directory,
        template=str(TEMPLATE),
        extensions=RENDERED,
        files=RENDERED_FILES,
        verbosity=verbosity,
        project_slug=slug,
        project_title=name.replace("_", " ").title(),
        edn_version=platform_version(),
        local_secret_key=secrets.token_urlsafe(48),
        local_jwt_key=secrets.token_urlsafe(48),
    )
    root = Path(directory or name).resolve()
    for old, new in RENAMED.items():
        (root / old).rename(root / new)
    for script in EXECUTABLE:
        (root / script).chmod(0o755)
    wire(root)
    return root


def wire(root: Path) -> None:
    """Write the generated files (deploy skeleton, import contracts) of the new project."""
    env = {**os.environ, "DJANGO_DEBUG": "1", "EDN_SERVICES": "", "EDN_LOG_LEVEL": "WARNING"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env["EDN_DATA_DIR"] = str(root / "data")
    done = subprocess.run(
        [sys.executable, "manage.py", "edn_wiring", "write"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise CommandError(f"the project was created, but its wiring failed:\n{done.stderr}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="edn", description="Event Driven Django")
    parser.add_argument("--version", action="version", version=platform_version())
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("startproject", help="create a project on the platform")
    start.add_argument("name", help="the project's package (a Python identifier)")
    start.add_argument("directory", nargs="?", help="where to create it (default: ./NAME)")
    args = parser.parse_args(argv)
    try:
        root = startproject(args.name, args.directory)
    except CommandError as error:
        print(f"edn: error: {error}", file=sys.stderr)
        return 2
    print(f"Created {args.name} in {root}.\nNext: cd {root} && scripts/test && scripts/run")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
