"""Render the kustomizations under deploy/ and read the facts they must agree with.

The code side (service apps, what each publishes and handles) comes from config.services and
the registries the apps' events modules fill, so manifests and code cannot drift apart unseen.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from edn_core.wiring.services import Service, declared
from tests.conftest import REQUIRE_SERVICES

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
OVERLAYS = sorted(p.parent.name for p in (K8S / "overlays").glob("*/kustomization.yaml"))
WORKLOADS = {"Deployment", "Job", "CronJob"}


def kubectl() -> str:
    """Path of kubectl; skips the test without it (fails under EDN_REQUIRE_SERVICES=1)."""
    found = shutil.which("kubectl")
    if found:
        return found
    reason = "kubectl is not installed: manifests cannot be rendered"
    if REQUIRE_SERVICES:
        pytest.fail(f"EDN_REQUIRE_SERVICES=1 but {reason}")
    pytest.skip(reason)


@functools.cache
def _render(path: Path) -> tuple[dict, ...]:
    done = subprocess.run(
        [kubectl(), "kustomize", str(path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"kubectl kustomize {path} failed:\n{done.stderr}"
    return tuple(doc for doc in yaml.safe_load_all(done.stdout) if doc)


def render(path: Path) -> list[dict]:
    return list(_render(path))


def overlay(name: str) -> list[dict]:
    return render(K8S / "overlays" / name)


def kustomizations() -> list[Path]:
    """Every directory under deploy/ that kustomize can build on its own (not Components)."""
    found = []
    for file in sorted(DEPLOY.rglob("kustomization.yaml")):
        if yaml.safe_load(file.read_text()).get("kind", "Kustomization") == "Kustomization":
            found.append(file.parent)
    return found


def of_kind(docs: list[dict], kind: str) -> list[dict]:
    return [doc for doc in docs if doc["kind"] == kind]


def named(docs: list[dict], kind: str, name: str) -> dict:
    matches = [d for d in of_kind(docs, kind) if d["metadata"]["name"] == name]
    assert matches, f"no {kind} {name}"
    return matches[0]


def pod_template(workload: dict) -> dict:
    spec = workload["spec"]
    return spec["jobTemplate"]["spec"]["template"] if "jobTemplate" in spec else spec["template"]


def pod_spec(workload: dict) -> dict:
    return pod_template(workload)["spec"]


def pod_annotations(workload: dict) -> dict:
    return pod_template(workload)["metadata"].get("annotations", {})


def role(workload: dict) -> str:
    return workload["metadata"]["labels"]["app.kubernetes.io/component"]


def service_of(doc: dict) -> str:
    return doc["metadata"]["labels"]["app.kubernetes.io/name"]


def workloads(docs: list[dict]) -> list[dict]:
    return [doc for doc in docs if doc["kind"] in WORKLOADS]


def container_env(docs: list[dict], container: dict) -> dict[str, str]:
    """The container's environment as Kubernetes builds it: envFrom in order, then env.

    Values from Secrets read ``<secret:NAME/KEY>`` (``<secret:NAME/*>`` for a whole Secret).
    """
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(named(docs, "ConfigMap", source["configMapRef"]["name"])["data"])
        else:
            marker = f"<secret:{source['secretRef']['name']}/*>"
            env[marker] = marker
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = item["value"]
        else:
            ref = item["valueFrom"]["secretKeyRef"]
            env[item["name"]] = f"<secret:{ref['name']}/{ref['key']}>"
    return env


# A service app as the code declares it: the platform's own view (edn_core.wiring).
ServiceApp = Service


def service_apps(labels: tuple[str, ...] | None = None) -> dict[str, ServiceApp]:
    """Every service app, with the topics its own events module publishes and handles."""
    from config.services import SERVICE_APPS

    return {label: declared(label) for label in labels or SERVICE_APPS}
