"""Every kustomization renders; every Kubernetes object is valid; the YAML is lint-clean."""

import copy
import re

import kubernetes_validate
import pytest
from yamllint import linter
from yamllint.config import YamlLintConfig

from tests.deploy.manifests import (
    DEPLOY,
    OVERLAYS,
    ROOT,
    container_env,
    kustomizations,
    overlay,
    pod_spec,
    render,
    workloads,
)

# The oldest Kubernetes these manifests target, and the newest schemas the validator ships.
KUBERNETES_VERSIONS = ["1.29.0", kubernetes_validate.utils.latest_version()]
SECRET_LOOKING = re.compile(r"SECRET|TOKEN|PASSWORD|_KEY$|DATABASE_URL|BROKER_URL", re.I)


def test_the_overlays_are_dev_and_prod_and_the_celery_variant():
    assert {"dev", "prod", "prod-celery"} <= set(OVERLAYS)


@pytest.mark.parametrize("path", kustomizations(), ids=lambda p: str(p.relative_to(DEPLOY)))
def test_every_kustomization_renders(path):
    assert render(path), f"{path} rendered nothing"


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("name", OVERLAYS)
def test_every_kubernetes_object_validates_strictly(name, version):
    kubernetes_objects = [d for d in overlay(name) if not d["apiVersion"].startswith("dapr.io/")]
    assert kubernetes_objects
    for doc in kubernetes_objects:
        where = f"{name}: {doc['kind']}/{doc['metadata']['name']}"
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{where} is invalid for Kubernetes {version}: {error.message}")


def test_strict_validation_rejects_an_unknown_field():
    deployment = copy.deepcopy(next(d for d in overlay("prod") if d["kind"] == "Deployment"))
    pod_spec(deployment)["containers"][0]["readinessprobe"] = {}  # a typo: readinessProbe
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[0], strict=True)


@pytest.mark.parametrize("name", OVERLAYS)
def test_no_secret_is_inlined(name):
    docs = overlay(name)
    assert not [d for d in docs if d["kind"] == "Secret"], "Secrets are created out of band"
    for config_map in (d for d in docs if d["kind"] == "ConfigMap"):
        assert not [k for k in config_map["data"] if SECRET_LOOKING.search(k)], config_map
    for workload in workloads(docs):
        for container in pod_spec(workload)["containers"]:
            for key, value in container_env(docs, container).items():
                if SECRET_LOOKING.search(key):
                    assert value.startswith("<secret:"), (
                        f"{key} is inlined in {workload['metadata']['name']}"
                    )
    for component in (d for d in docs if d["kind"] == "Component"):
        for item in component["spec"]["metadata"]:
            if re.search(r"password|secret|connectionstring|token|key$", item["name"], re.I):
                assert "secretKeyRef" in item, f"{item['name']} is inlined"


@pytest.mark.parametrize("name", OVERLAYS)
def test_images_are_pinned_and_pulled_only_when_missing(name):
    for workload in workloads(overlay(name)):
        for container in pod_spec(workload)["containers"]:
            image = container["image"]
            assert re.search(r"(:[\w.-]+|@sha256:[0-9a-f]{64})$", image), image
            assert not image.endswith(":latest"), image
            assert container["imagePullPolicy"] == "IfNotPresent"


def test_yaml_is_lint_clean():
    config = YamlLintConfig(file=str(ROOT / ".yamllint"))
    files = sorted([*DEPLOY.rglob("*.yaml"), *DEPLOY.rglob("*.yml"), ROOT / ".yamllint"])
    problems = [
        f"{file.relative_to(ROOT)}:{problem.line}: {problem.desc} ({problem.rule})"
        for file in files
        for problem in linter.run(file.read_text(), config, str(file))
    ]
    assert not problems, "\n".join(problems)
