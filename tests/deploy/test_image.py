"""The image: what the Dockerfile promises (no Docker engine runs here, so it is not built), and
its build step that can run without one - collecting static files - run for real."""

import json
import os
import re
import shlex
import subprocess
import sys
import tomllib

from packaging.specifiers import SpecifierSet

from config.services import SERVICE_APPS
from tests.deploy.manifests import DEPLOY, ROOT, named, overlay, pod_spec

DOCKERFILE = (DEPLOY / "docker" / "Dockerfile").read_text()
INSTRUCTIONS = [
    re.sub(r"\s*\\\n\s*", " ", line).strip()
    for line in re.split(r"(?<!\\)\n", DOCKERFILE)
    if line.strip() and not line.lstrip().startswith("#")
]
FINAL_STAGE = INSTRUCTIONS[max(i for i, line in enumerate(INSTRUCTIONS) if line.startswith("FROM"))]


def final_stage() -> list[str]:
    return INSTRUCTIONS[INSTRUCTIONS.index(FINAL_STAGE) :]


def test_the_image_is_multi_stage_slim_and_runs_as_the_manifests_user():
    assert sum(line.startswith("FROM ") for line in INSTRUCTIONS) >= 2
    assert re.match(r"FROM python:\$\{PYTHON_VERSION\}-slim", FINAL_STAGE)
    (python,) = re.findall(r"ARG PYTHON_VERSION=([\d.]+)", DOCKERFILE)
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert f"{python}.0" in SpecifierSet(requires)
    (user,) = [line.split()[1] for line in final_stage() if line.startswith("USER ")]
    uid = int(user.split(":")[0])
    assert uid >= 10000
    web = named(overlay("prod"), "Deployment", "orders-web")
    assert pod_spec(web)["securityContext"]["runAsUser"] == uid


def test_the_default_command_is_the_web_process_of_the_manifests():
    (cmd,) = [line for line in final_stage() if line.startswith("CMD ")]
    web = pod_spec(named(overlay("prod"), "Deployment", "orders-web"))["containers"][0]
    assert json.loads(cmd.removeprefix("CMD ")) == web["args"]
    (expose,) = [line for line in final_stage() if line.startswith("EXPOSE ")]
    assert [int(expose.split()[1])] == [p["containerPort"] for p in web["ports"]]
    assert "GUNICORN_BIND=0.0.0.0:8000" in " ".join(final_stage())


def test_collecting_static_files_at_build_time_works(tmp_path):
    """The Dockerfile's collectstatic step, with its own environment, on this code."""
    (run,) = [line for line in final_stage() if "collectstatic" in line]
    words = shlex.split(run.removeprefix("RUN ").split("&&")[0])
    assignments = dict(w.split("=", 1) for w in words if re.fullmatch(r"[A-Z_]+=.*", w))
    command = [w for w in words if not re.fullmatch(r"[A-Z_]+=.*", w)]
    assert assignments["DJANGO_DEBUG"] == "0" and command[:2] == ["python", "manage.py"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "EDN_"))}
    env.update(assignments, DJANGO_SETTINGS_MODULE="config.settings", EDN_DATA_DIR=str(tmp_path))
    done = subprocess.run(
        [sys.executable, *command[1:]], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "static" / "admin" / "css" / "base.css.gz").exists()
    assert (tmp_path / "static" / "rest_framework").is_dir()
    # Swagger UI's files, served by the service itself (/api/docs/ loads nothing from elsewhere)
    swagger_ui = tmp_path / "static" / "drf_spectacular_sidecar" / "swagger-ui-dist"
    assert (swagger_ui / "swagger-ui-bundle.js.gz").exists()


def dockerignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule: a path is excluded when it, or a directory above it, matches; the last
    matching pattern wins and "!" re-includes."""
    excluded = False
    parts = path.split("/")
    for pattern in patterns:
        keep = pattern.startswith("!")
        glob = pattern.lstrip("!").strip("/")
        regex = re.escape(glob).replace(r"\*\*/", "(.*/)?").replace(r"\*\*", ".*")
        regex = regex.replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
        if any(re.fullmatch(regex, "/".join(parts[:i])) for i in range(1, len(parts) + 1)):
            excluded = not keep
    return excluded


def test_the_build_context_has_the_code_and_nothing_private():
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    code = ["manage.py", "pyproject.toml"]
    for package in ("config", "edn_core", *SERVICE_APPS):
        code += [
            str(path.relative_to(ROOT))
            for path in (ROOT / package).rglob("*")
            if path.is_file() and "__pycache__" not in path.parts
        ]
    assert [path for path in code if dockerignored(path, patterns)] == []
    private = [".env", ".venv/bin/python", ".git/config", "data/default.sqlite3", "tests/x.py"]
    private += ["orders/__pycache__/models.cpython-311.pyc", "docs/deploy.md", "deploy/k8s/x"]
    assert [path for path in private if not dockerignored(path, patterns)] == []
