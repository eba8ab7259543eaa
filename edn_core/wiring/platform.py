"""The platform's deploy parts (Kubernetes roles, transports and profiles, Dapr components,
the Dockerfile, the local process scripts), rendered for the project from the library's
templates (edn_core/scaffold/deploy/) with its package and name. A project changes them
through its overlays (deploy/k8s/overlays/, its own), or leaves one out with
``EDN_WIRING_EXCLUDE``."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.template import Context, Engine

TEMPLATES = Path(__file__).resolve().parent.parent / "scaffold" / "deploy"
_engine = Engine(autoescape=False)


def platform_files() -> dict[str, str]:
    context = Context({"project": settings.EDN_PROJECT, "name": settings.EDN_PROJECT_NAME})
    files = {}
    for path in sorted(TEMPLATES.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            name = f"deploy/{path.relative_to(TEMPLATES).as_posix()}"
            files[name] = _engine.from_string(path.read_text()).render(context)
    return files


def executable(name: str) -> bool:
    """Scripts keep their executable bit."""
    return name.startswith("deploy/local/") and not name.endswith((".env", "Procfile"))
