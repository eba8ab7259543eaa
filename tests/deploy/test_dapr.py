"""Dapr resources have the shape Dapr documents, and say what the code does."""

import copy
import json
from pathlib import Path

import pytest
import yaml
from django.test import override_settings
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from edn_core.dapr_app import subscription_document
from tests.deploy.manifests import (
    DEPLOY,
    K8S,
    OVERLAYS,
    container_env,
    of_kind,
    overlay,
    pod_annotations,
    pod_spec,
    render,
    role,
    service_apps,
    workloads,
)

SCHEMAS = {p.stem: json.loads(p.read_text()) for p in (Path(__file__).parent / "schemas").glob("*")}
REGISTRY = Registry().with_resources(
    (schema["$id"], Resource.from_contents(schema)) for schema in SCHEMAS.values()
)
DAPR_OVERLAYS = [
    name
    for name in OVERLAYS
    if "../../transports/dapr" in (K8S / "overlays" / name / "kustomization.yaml").read_text()
]
PUBSUBS = sorted(p.parent for p in (DEPLOY / "dapr" / "pubsub").glob("*/kustomization.yaml"))


def schema_errors(doc: dict) -> list[str]:
    validator = Draft202012Validator(SCHEMAS[doc["kind"].lower()], registry=REGISTRY)
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)
    ]


def scopes(component: dict, name: str) -> dict[str, set[str]]:
    """Parse publishingScopes/subscriptionScopes as Dapr does (spaces removed; "app=" = none)."""
    value = next(m["value"] for m in component["spec"]["metadata"] if m["name"] == name)
    pairs = [part.split("=", 1) for part in value.replace(" ", "").split(";") if "=" in part]
    return {app: set(filter(None, topics.split(","))) for app, topics in pairs}


def expected_access(dead_letter: str) -> dict[str, tuple[set[str], set[str]]]:
    """App id -> (topics it may publish, topics it may subscribe to), from the code."""
    access = {}
    for app in service_apps().values():
        if app.uses_bus:
            access[f"{app.name}-relay"] = (set(app.publishes), set())
        if app.subscribes:
            dead = {dead_letter.format(topic=t) for t in app.subscribes} - {""}
            access[app.name] = (dead, set(app.subscribes))
    return access


def dapr_docs() -> list[dict]:
    """Every Dapr resource: as written in deploy/dapr, and as each pub/sub variant renders."""
    files = sorted((DEPLOY / "dapr").rglob("*.yaml"))
    written = [d for f in files for d in yaml.safe_load_all(f.read_text()) if d and "spec" in d]
    return written + [d for path in PUBSUBS for d in render(path)]


@pytest.mark.parametrize("name", DAPR_OVERLAYS)
def test_rendered_dapr_resources_have_the_documented_shape(name):
    docs = [d for d in overlay(name) if d["apiVersion"].startswith("dapr.io/")]
    assert {d["kind"] for d in docs} == {"Component", "Configuration", "Resiliency"}
    assert {d["kind"]: schema_errors(d) for d in docs} == {d["kind"]: [] for d in docs}


def test_every_pubsub_variant_and_file_has_the_documented_shape():
    docs = dapr_docs()
    types = {d["spec"]["type"] for d in docs if d["kind"] == "Component"}
    assert types == {
        "pubsub.redis",
        "pubsub.rabbitmq",
        "pubsub.kafka",
        "pubsub.aws.snssqs",
        "pubsub.azure.servicebus.topics",
    }
    errors = {f"{d['kind']} {d['spec'].get('type', '')}": schema_errors(d) for d in docs}
    assert errors == {where: [] for where in errors}


def test_the_schemas_reject_what_dapr_would_not_understand():
    resiliency = next(d for d in dapr_docs() if d["kind"] == "Resiliency")
    broken = copy.deepcopy(resiliency)
    broken["spec"]["policies"]["retries"]["publish"]["maxInterval"] = "10s"  # constant policy
    broken["spec"]["targets"]["components"]["pubsub"]["outbond"] = {"retry": "publish"}
    assert len(schema_errors(broken)) == 2
    component = copy.deepcopy(next(d for d in dapr_docs() if d["kind"] == "Component"))
    component["spec"]["metadata"].append({"name": "x", "value": "1", "secretKeyRef": {}})
    assert schema_errors(component)


@pytest.mark.parametrize("name", DAPR_OVERLAYS)
def test_resiliency_targets_name_existing_policies_and_components(name):
    docs = overlay(name)
    (resiliency,) = of_kind(docs, "Resiliency")
    policies = resiliency["spec"]["policies"]
    kinds = {"timeout": "timeouts", "retry": "retries", "circuitBreaker": "circuitBreakers"}
    components = {c["metadata"]["name"] for c in of_kind(docs, "Component")}
    for component, directions in resiliency["spec"]["targets"]["components"].items():
        assert component in components
        for names in directions.values():
            for kind, policy in names.items():
                assert policy in policies[kinds[kind]], f"{kind} {policy} is not defined"


def shared_config(docs: list[dict]) -> dict[str, str]:
    (config,) = [d for d in of_kind(docs, "ConfigMap") if d["metadata"]["name"].startswith("edn-")]
    return config["data"]


@pytest.mark.parametrize("name", DAPR_OVERLAYS)
def test_topic_scopes_and_app_ids_agree_with_the_code(name):
    docs = overlay(name)
    (component,) = of_kind(docs, "Component")
    (resiliency,) = of_kind(docs, "Resiliency")
    dead_letter = shared_config(docs).get("EDN_DAPR_DEAD_LETTER_TOPIC", "{topic}.deadletter")
    access = expected_access(dead_letter)
    publishing = scopes(component, "publishingScopes")
    subscribing = scopes(component, "subscriptionScopes")
    found = {app: (publishing.get(app), subscribing.get(app)) for app in component["scopes"]}
    hint = "\n".join(
        f"{a}: publish {sorted(p)}, subscribe {sorted(s)}" for a, (p, s) in access.items()
    )
    assert found == access, f"deploy/dapr/scopes must grant exactly:\n{hint}"
    assert sorted(resiliency["scopes"]) == sorted(access)
    enabled = {
        pod_annotations(w)["dapr.io/app-id"]
        for w in workloads(docs)
        if pod_annotations(w).get("dapr.io/enabled") == "true"
    }
    assert enabled == set(access), "exactly the processes that move events have a sidecar"


@pytest.mark.parametrize("name", DAPR_OVERLAYS)
def test_sidecar_annotations_agree_with_the_containers(name):
    docs = overlay(name)
    configurations = {c["metadata"]["name"] for c in of_kind(docs, "Configuration")}
    for workload in workloads(docs):
        annotations = pod_annotations(workload)
        if annotations.get("dapr.io/enabled") != "true":
            continue
        container = pod_spec(workload)["containers"][0]
        env = container_env(docs, container)
        app = workload["metadata"]["labels"]["app.kubernetes.io/name"]
        assert env["EDN_BUS_TRANSPORT"] == "dapr"
        assert annotations["dapr.io/config"] in configurations
        assert env["DAPR_API_TOKEN"] == f"<secret:{annotations['dapr.io/api-token-secret']}/token>"
        assert env["APP_API_TOKEN"] == f"<secret:{app}-app-api-token/token>"
        if role(workload) == "relay":
            assert annotations["dapr.io/app-id"] == f"{app}-relay"
            assert "dapr.io/app-port" not in annotations, "a relay must not subscribe"
            continue
        assert role(workload) == "web"
        assert annotations["dapr.io/app-id"] == app
        assert annotations["dapr.io/app-token-secret"] == f"{app}-app-api-token"
        assert [int(annotations["dapr.io/app-port"])] == [
            p["containerPort"] for p in container["ports"]
        ]
        assert annotations["dapr.io/app-protocol"] == "http"
        assert annotations["dapr.io/enable-app-health-check"] == "true"
        assert annotations["dapr.io/app-health-check-path"] == "/healthz"


@pytest.mark.parametrize("name", DAPR_OVERLAYS)
def test_the_subscription_document_fits_the_component(name):
    """What GET /dapr/subscribe answers in each subscribing web process is allowed to it."""
    docs = overlay(name)
    (component,) = of_kind(docs, "Component")
    config = shared_config(docs)
    publishing = scopes(component, "publishingScopes")
    subscribing = scopes(component, "subscriptionScopes")
    pubsub = config["EDN_DAPR_PUBSUB"]
    dead_letter = config.get("EDN_DAPR_DEAD_LETTER_TOPIC", "{topic}.deadletter")
    with override_settings(EDN_DAPR_PUBSUB=pubsub, EDN_DAPR_DEAD_LETTER_TOPIC=dead_letter):
        document = subscription_document()
    assert component["metadata"]["name"] == pubsub
    for app in (a for a in service_apps().values() if a.subscribes):
        items = [item for item in document if item["topic"] in app.subscribes]
        assert {item["topic"] for item in items} == app.subscribes
        for item in items:
            assert item["pubsubname"] == pubsub
            assert item["route"] == f"/dapr/events/{item['topic']}"
            assert item["topic"] in subscribing[app.name]
            assert item["deadLetterTopic"] in publishing[app.name]
