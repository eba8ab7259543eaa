"""``manage.py check --deploy`` passes, warnings included, with the environment the production
overlays give each web container (ConfigMaps + the documented Secrets, with real-length keys)."""

import os
import secrets
import subprocess
import sys

import pytest

from tests.deploy.manifests import (
    ROOT,
    container_env,
    overlay,
    pod_spec,
    role,
    service_apps,
    workloads,
)
from tests.deploy.test_runtime_env import resolve

PRODUCTION = ["prod", "prod-celery"]


def web_environments(name: str) -> dict[str, dict[str, str]]:
    """Each web container's environment, its Secrets filled with fresh random keys."""
    docs = overlay(name)
    apps = {app.name: app for app in service_apps().values()}
    found = {}
    for workload in workloads(docs):
        if role(workload) != "web":
            continue
        app = apps[workload["metadata"]["labels"]["app.kubernetes.io/name"]]
        (container,) = pod_spec(workload)["containers"]
        env = resolve(container_env(docs, container), app, dapr=name == "prod")
        env["DJANGO_SECRET_KEY"] = secrets.token_urlsafe(50)
        env["EDN_JWT_SIGNING_KEY"] = secrets.token_urlsafe(50)
        found[workload["metadata"]["name"]] = env
    return found


def check_deploy(env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "EDN_", "APP_", "DAPR_", "CELERY_", "GUNICORN_"))
        and not k.endswith("_DATABASE_URL")
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.mark.parametrize("name", PRODUCTION)
def test_check_deploy_passes_for_every_production_web_container(name):
    environments = web_environments(name)
    assert len(environments) == len(service_apps())
    for where, env in environments.items():
        done = check_deploy(env)
        assert done.returncode == 0, f"{name} {where}:\n{done.stderr[-3000:]}"
        assert "no issues" in done.stdout, done.stdout


def test_check_deploy_fails_without_what_production_sets():
    """The check can fail: without the overlay's HTTPS settings, or with a weak key."""
    env = web_environments("prod")["orders-web"]
    del env["DJANGO_HTTPS_REDIRECT_AT_PROXY"]
    env["DJANGO_SECURE_HSTS_SECONDS"] = "0"
    env["DJANGO_SECRET_KEY"] = "k" * 50
    done = check_deploy(env)
    assert done.returncode != 0
    for warning in ("security.W008", "security.W004", "security.W009"):
        assert warning in done.stderr, done.stderr
