"""The platform as a user installs it: the wheel alone, in a fresh virtual environment with no
checkout on the path, creates a project and two services whose tests pass, passes Django's
deployment checks, and carries an event from one service to the other in one process."""

import json
import os
import secrets
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLATFORM = {"edn_core", "sagas", "schema_registry"}
DEV = ["pytest>=8,<10", "pytest-django>=4.8,<5", "factory-boy>=3.3,<4", "import-linter>=2,<3"]
DEV += ["honcho>=1.1,<3"]  # the rest of a new project's dev extra


def run(args, cwd, env=None, timeout=900) -> subprocess.CompletedProcess:
    done = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"{args} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def clean_env(**extra) -> dict[str, str]:
    """The environment without anything pointing at this checkout or its settings."""
    drop = ("DJANGO_", "EDN_", "PYTHON", "VIRTUAL_ENV", "CELERY_", "APP_", "DAPR_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env = {k: v for k, v in env.items() if not k.endswith("_DATABASE_URL")}
    return {**env, **extra}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built from a copy of the repository's files (setuptools would otherwise
    reuse a build/ folder left by an earlier build, files since removed included)."""
    source, dist = tmp_path_factory.mktemp("source"), tmp_path_factory.mktemp("dist")
    listed = ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"]
    for name in run(listed, ROOT).stdout.split("\0"):
        if name and (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), "."], source)
    (found,) = dist.glob("event_driven_django-*.whl")
    return found


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    """A fresh virtual environment holding the wheel (and the tools a project's tests use).

    One pip run installs pip itself, the wheel and the tools into it (pip's ``--python``: the
    running pip, the environment's interpreter), without compiling every installed module
    ahead of time (``--no-compile``; Python compiles what it imports): a third of the time of
    a venv's bundled pip compiling all, and the same packages in the same place."""
    where = tmp_path_factory.mktemp("venv") / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(where)], where.parent)
    pip = [sys.executable, "-m", "pip", "--python", str(where / "bin" / "python"), "install"]
    tools = ["pip", *DEV, "ruff>=0.6,<1"]
    run([*pip, "-q", "--no-compile", str(wheel), *tools], where.parent, env=clean_env())
    return where


def test_the_wheel_holds_the_platform_and_nothing_of_the_reference(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    packages = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert packages == PLATFORM
    for marker in ("edn_core/py.typed", "sagas/py.typed", "schema_registry/py.typed"):
        assert marker in names
    assert "edn_core/scaffold/project_template/manage.py-tpl" in names
    assert "edn_core/scaffold/project_template/pyproject.toml-tpl" in names
    assert any(n.startswith("sagas/migrations/0001") for n in names)
    metadata = next(n for n in names if n.endswith("entry_points.txt"))
    assert "edn = edn_core.scaffold.cli:main" in zipfile.ZipFile(wheel).read(metadata).decode()


def test_the_installed_platform_does_not_come_from_this_checkout(venv, tmp_path):
    python = str(venv / "bin" / "python")
    code = "import edn_core, importlib.util as u; print(edn_core.__file__, u.find_spec('orders'))"
    out = run([python, "-c", code], tmp_path, env=clean_env()).stdout.split()
    assert out[0].startswith(str(venv)) and out[1] == "None"


@pytest.fixture(scope="module")
def project(venv, tmp_path_factory) -> Path:
    where = tmp_path_factory.mktemp("work")
    run([str(venv / "bin" / "edn"), "startproject", "shop", "shop"], where, env=clean_env())
    return where / "shop"


def manage(venv, project, *args, **env):
    python = str(venv / "bin" / "python")
    base = clean_env(DJANGO_SETTINGS_MODULE="tests.settings", EDN_DATA_DIR=str(project / "data"))
    return run([python, "manage.py", *args], project, env={**base, **env})


def test_a_new_project_with_two_services_passes_its_own_checks(wheel, venv, project):
    manage(venv, project, "edn_startservice", "shipping")
    manage(venv, project, "edn_startservice", "billing", "--handles", "v1.ShippingCreated")
    services = (project / "shop" / "services.py").read_text()
    assert '"shipping"' in services and '"billing"' in services
    manage(venv, project, "edn_wiring", "check")
    # The project's own test command (ruff, import contracts, migrations, pytest), with the
    # fresh environment as its .venv and the wheel where pip finds it.
    (project / ".venv").symlink_to(venv)
    env = clean_env(EDN_DATA_DIR=str(project / "data"), PIP_FIND_LINKS=str(wheel.parent))
    done = run(["scripts/test", "-q", "-p", "no:cacheprovider"], project, env)
    assert "==> import-linter" in done.stdout and "Contracts: 6 kept, 0 broken" in done.stdout
    assert " passed" in done.stdout and "failed" not in done.stdout
    assert (project / "deploy" / "k8s" / "services" / "billing" / "kustomization.yaml").is_file()


def test_the_project_passes_the_deployment_checks_with_production_settings(venv, project):
    production = {
        "DJANGO_SETTINGS_MODULE": "shop.settings",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "EDN_JWT_SIGNING_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "shop.example.com",
        "DJANGO_TRUST_X_FORWARDED_PROTO": "1",
        "DJANGO_HTTPS_REDIRECT_AT_PROXY": "1",
    }
    done = manage(venv, project, "check", "--deploy", "--fail-level", "WARNING", **production)
    assert "no issues" in done.stdout


SCRIPT = """
import django, json
django.setup()
from django.core.management import call_command
from rest_framework.test import APIClient
from edn_core.pytest_plugin import bearer_token
from edn_core.testing import EventBus
call_command("migrate_all", verbosity=0)
client = APIClient()
client.credentials(HTTP_AUTHORIZATION=f"Bearer {bearer_token()}")
created = client.post("/api/shipping", {"name": "parcel"}, format="json")
assert created.status_code == 201, created.content
EventBus().run_until_quiet()
print(json.dumps(client.get("/api/billing/activity").json()))
"""


def test_an_event_of_one_service_is_handled_by_the_other_in_one_process(venv, project):
    python = str(venv / "bin" / "python")
    env = clean_env(
        DJANGO_SETTINGS_MODULE="shop.settings",
        DJANGO_DEBUG="1",
        DJANGO_ALLOWED_HOSTS="testserver",  # the host name of Django's test client
        EDN_BUS_IN_PROCESS="0",  # the test drives the bus: deterministic, no relay thread
        EDN_DATA_DIR=str(project / "data-flow"),
    )
    done = run([python, "-c", SCRIPT], project, env=env)
    activity = json.loads(done.stdout.strip().splitlines()[-1])
    assert [a["topic"] for a in activity["results"]] == ["v1.ShippingCreated"]
