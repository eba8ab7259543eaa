"""Each container's rendered environment (ConfigMaps + the documented Secrets) boots the settings
as intended: its own apps on PostgreSQL, the right transport, no in-process relay, and host names
that the probes, the Dapr sidecar and the other services use."""

import json
import os
import re
import subprocess
import sys
from urllib.parse import urlsplit

import pytest

from tests.deploy.manifests import (
    OVERLAYS,
    ROOT,
    container_env,
    of_kind,
    overlay,
    pod_spec,
    role,
    service_apps,
    workloads,
)

# Loads config.settings afresh for each environment given on stdin; prints what matters.
PROBE = """
import importlib, json, os, sys
from django.http.request import split_domain_port, validate_host
results = []
for env, hosts in json.load(sys.stdin):
    prefixes = ("DJANGO_", "EDN_", "APP_", "DAPR_", "CELERY_", "GUNICORN_")
    for key in [k for k in os.environ if k.startswith(prefixes) or k.endswith("DATABASE_URL")]:
        del os.environ[key]
    os.environ.update(env)
    sys.modules.pop("config.settings", None)
    try:
        s = importlib.import_module("config.settings")
    except Exception as error:
        results.append({"error": f"{type(error).__name__}: {error}"})
        continue
    results.append({
        "services": s.EDN_SERVICES, "debug": s.DEBUG, "transport": s.EDN_BUS_TRANSPORT,
        "in_process": s.EDN_BUS["in_process"], "broker": s.CELERY_BROKER_URL,
        "engines": {alias: db["ENGINE"] for alias, db in s.DATABASES.items()},
        "hosts": {h: validate_host(split_domain_port(h)[0], s.ALLOWED_HOSTS) for h in hosts},
    })
print(json.dumps(results))
"""
POD_IP = "10.244.3.17:8000"


def secret_keys(app) -> dict[str, str]:
    """What docs/deploy.md asks to put in the Secret <service>-env (fake values)."""
    aliases = ("default", app.label)
    return {
        "DJANGO_SECRET_KEY": "k" * 50,
        "EDN_JWT_SIGNING_KEY": "j" * 50,
        **{f"{a.upper()}_DATABASE_URL": f"postgres://u:p@db:5432/{app.name}_{a}" for a in aliases},
    }


def resolve(env: dict, app, dapr: bool) -> dict[str, str]:
    """Replace Secret references with values; optional Dapr tokens exist only with Dapr."""
    resolved = {}
    for key, value in env.items():
        whole = re.fullmatch(r"<secret:(.+)/\*>", value)
        if whole:
            assert whole[1] == f"{app.name}-env"
            resolved.update(secret_keys(app))
        elif value.startswith("<secret:"):
            if dapr or "api-token" not in value:
                resolved[key] = "amqp://u:p@rabbitmq:5672//" if key.endswith("URL") else "t0k3n"
        else:
            resolved[key] = value
    return resolved


def boot(cases: list[tuple[dict, list[str]]]) -> list[dict]:
    clean = {k: v for k, v in os.environ.items() if not k.endswith("_DATABASE_URL")}
    clean["DJANGO_SETTINGS_MODULE"] = "config.settings"
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=clean,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def expected_transport(app, process: str, dapr: bool) -> str:
    if dapr:
        moves_events = process == "relay" or (process == "web" and app.subscribes)
        return "dapr" if moves_events else "local"
    return "celery" if process in {"relay", "worker"} else "local"


@pytest.mark.parametrize("name", OVERLAYS)
def test_every_container_boots_with_its_rendered_environment(name):
    docs = overlay(name)
    dapr = bool(of_kind(docs, "Component"))
    apps = {app.name: app for app in service_apps().values()}
    cases, expected = [], []
    for workload in workloads(docs):
        app = apps[workload["metadata"]["labels"]["app.kubernetes.io/name"]]
        for container in pod_spec(workload)["containers"]:
            env = resolve(container_env(docs, container), app, dapr)
            registry = urlsplit(env["EDN_SCHEMA_REGISTRY_URL"]).netloc
            probe_hosts = [
                header["value"]
                for probe in ("startupProbe", "livenessProbe", "readinessProbe")
                for header in container.get(probe, {}).get("httpGet", {}).get("httpHeaders", [])
            ]
            hosts = [*probe_hosts, "127.0.0.1:8000", registry, POD_IP]
            cases.append((env, hosts))
            expected.append((workload["metadata"]["name"], app, role(workload), hosts))
    for (where, app, process, hosts), result in zip(expected, boot(cases), strict=True):
        assert "error" not in result, f"{where}: {result}"
        assert result["services"] == [app.label], where
        assert result["engines"] == dict.fromkeys(
            ["default", app.label], "django.db.backends.postgresql"
        ), where
        assert result["debug"] is False, where
        assert result["in_process"] is False, f"{where} would relay in a thread"
        assert result["transport"] == expected_transport(app, process, dapr), where
        if result["transport"] == "celery":
            assert result["broker"].startswith("amqp://"), where
        assert result["hosts"] == {h: h != POD_IP for h in hosts}, where


def test_a_dapr_process_without_its_app_token_refuses_to_start():
    docs = overlay("prod")
    (relay,) = [w for w in workloads(docs) if w["metadata"]["name"] == "orders-relay"]
    app = service_apps()["orders"]
    env = resolve(container_env(docs, pod_spec(relay)["containers"][0]), app, dapr=False)
    (result,) = boot([(env, [])])
    assert "APP_API_TOKEN is required" in result["error"]


def test_every_secret_the_manifests_reference_is_documented():
    guide = (ROOT / "docs" / "deploy.md").read_text()
    names = set()
    for name in OVERLAYS:
        docs = overlay(name)
        for workload in workloads(docs):
            for container in pod_spec(workload)["containers"]:
                names |= set(re.findall(r"<secret:([^/>]+)/", str(container_env(docs, container))))
        for component in of_kind(docs, "Component"):
            names |= {
                m["secretKeyRef"]["name"]
                for m in component["spec"]["metadata"]
                if "secretKeyRef" in m
            }
    services = "|".join(app.name for app in service_apps().values())
    documented = {re.sub(rf"^({services})-", "<service>-", n) for n in names}
    assert {f"`{n}`" for n in documented if f"`{n}`" not in guide} == set()
    for key in secret_keys(service_apps()["orders"]):
        assert key.replace("ORDERS", "<APP>") in guide
