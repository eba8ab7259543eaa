"""Each service app of the code has its manifests, with the processes its events need."""

import pytest
import yaml

from tests.deploy.manifests import (
    K8S,
    OVERLAYS,
    ServiceApp,
    container_env,
    named,
    of_kind,
    overlay,
    pod_spec,
    pod_template,
    role,
    service_apps,
    service_of,
    workloads,
)


def transport(docs: list[dict]) -> str:
    return "dapr" if of_kind(docs, "Component") else "celery"


def expected_roles(app: ServiceApp, transport_name: str) -> set[str]:
    roles = {"web", "migrate"}
    if app.uses_bus:
        roles |= {"relay", "cleanup"}
    if app.subscribes and transport_name == "celery":
        roles.add("worker")
    if app.runs_streams:
        roles.add("streams")
    return roles


def coverage_problems(apps: dict[str, ServiceApp], docs: list[dict]) -> list[str]:
    """What is missing or superfluous in a rendered overlay, given the code's service apps."""
    problems = []
    found = {(service_of(w), role(w)) for w in workloads(docs)}
    for app in apps.values():
        roles = {r for service, r in found if service == app.name}
        wanted = expected_roles(app, transport(docs))
        problems += [f"{app.label}: no {r} manifest" for r in sorted(wanted - roles)]
        problems += [f"{app.label}: unexpected {r}" for r in sorted(roles - wanted)]
        for kind in ("Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"):
            if not [d for d in of_kind(docs, kind) if d["metadata"]["name"] == f"{app.name}-web"]:
                problems.append(f"{app.label}: no {kind}")
    known = {app.name for app in apps.values()}
    problems += [f"{s}: not a service app" for s in sorted({s for s, _ in found} - known)]
    return problems


@pytest.mark.parametrize("name", OVERLAYS)
def test_every_service_app_has_its_manifests_and_nothing_else(name):
    assert coverage_problems(service_apps(), overlay(name)) == []


def test_a_service_app_without_manifests_is_reported(monkeypatch):
    """What the overlay tests report the day an app joins SERVICE_APPS without manifests."""
    import config.services

    services = (*config.services.SERVICE_APPS, "made_up_service")
    monkeypatch.setattr(config.services, "SERVICE_APPS", services)
    assert coverage_problems(service_apps(), overlay("prod")) == [
        "made_up_service: no cleanup manifest",  # every service handles token revocations
        "made_up_service: no migrate manifest",
        "made_up_service: no relay manifest",
        "made_up_service: no web manifest",
        "made_up_service: no Service",
        "made_up_service: no HorizontalPodAutoscaler",
        "made_up_service: no PodDisruptionBudget",
    ]


@pytest.mark.parametrize("app", service_apps().values(), ids=lambda a: a.label)
def test_each_service_base_matches_what_the_code_does(app):
    """Static (no kubectl): the base lists the service, which picks its roles from the code."""
    base = yaml.safe_load((K8S / "base" / "kustomization.yaml").read_text())
    assert f"../services/{app.name}" in base["resources"]
    service = yaml.safe_load((K8S / "services" / app.name / "kustomization.yaml").read_text())
    assert service["namePrefix"] == f"{app.name}-"
    assert service["labels"][0]["pairs"] == {"app.kubernetes.io/name": app.name}
    assert service["configMapGenerator"][0]["literals"] == [f"EDN_SERVICES={app.label}"]
    components = {c.rsplit("/", 1)[-1] for c in service.get("components", [])}
    wanted = {"events"} if app.uses_bus else set()
    wanted |= {"subscriber"} if app.subscribes else set()
    assert components == wanted | ({"streams"} if app.runs_streams else set())


@pytest.mark.parametrize("name", OVERLAYS)
def test_every_web_process_serves_its_app_on_the_gunicorn_port_with_probes(name):
    docs = overlay(name)
    for app in service_apps().values():
        web = named(docs, "Deployment", f"{app.name}-web")
        container = pod_spec(web)["containers"][0]
        env = container_env(docs, container)
        assert env["EDN_SERVICES"] == app.label
        port = int(env["GUNICORN_BIND"].rsplit(":", 1)[1])
        assert container["ports"] == [{"name": "http", "containerPort": port}]
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            assert container[probe]["httpGet"]["port"] == "http"
            assert container[probe]["httpGet"]["httpHeaders"] == [
                {"name": "Host", "value": "localhost"}
            ]
        pod_labels = pod_template(web)["metadata"]["labels"]
        service = named(docs, "Service", f"{app.name}-web")
        assert service["spec"]["ports"][0]["targetPort"] == "http"
        assert service["spec"]["selector"] == web["spec"]["selector"]["matchLabels"]
        assert web["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
        pdb = named(docs, "PodDisruptionBudget", f"{app.name}-web")
        assert pdb["spec"]["selector"]["matchLabels"] == web["spec"]["selector"]["matchLabels"]
        hpa = named(docs, "HorizontalPodAutoscaler", f"{app.name}-web")
        assert hpa["spec"]["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": web["metadata"]["name"],
        }
        assert "replicas" not in web["spec"], "the autoscaler owns the replica count"


@pytest.mark.parametrize("name", OVERLAYS)
def test_every_pod_is_locked_down_and_sized(name):
    for workload in workloads(overlay(name)):
        where = workload["metadata"]["name"]
        pod = pod_spec(workload)
        assert pod["securityContext"]["runAsNonRoot"] is True, where
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, where
        assert pod["automountServiceAccountToken"] is False, where
        tmp = {v["name"] for v in pod["volumes"] if "emptyDir" in v}
        for container in pod["containers"]:
            assert container["securityContext"] == {
                "allowPrivilegeEscalation": False,
                "readOnlyRootFilesystem": True,
                "capabilities": {"drop": ["ALL"]},
            }, where
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            assert mounts.get("/tmp") in tmp, f"{where}: /tmp must be a writable emptyDir"
            resources = container["resources"]
            for kind in ("requests", "limits"):
                assert set(resources[kind]) == {"cpu", "memory"}, where


@pytest.mark.parametrize("name", OVERLAYS)
def test_each_service_with_stream_processors_runs_them_all_in_its_streams_process(name):
    docs = overlay(name)
    with_processors = [app for app in service_apps().values() if app.runs_streams]
    assert [app.label for app in with_processors] == ["analytics"]  # as the code declares
    for app in with_processors:
        streams = named(docs, "Deployment", f"{app.name}-streams")
        container = pod_spec(streams)["containers"][0]
        assert container["args"] == ["python", "manage.py", "edn_streams", "run", "--all"]
        assert container_env(docs, container)["EDN_SERVICES"] == app.label
        assert pod_spec(streams)["serviceAccountName"] == f"{app.name}-app"
        assert pod_template(streams)["metadata"]["annotations"]["dapr.io/enabled"] == "false"
        relay = pod_spec(named(docs, "Deployment", f"{app.name}-relay"))["containers"][0]
        assert container["envFrom"] == relay["envFrom"]  # the service's settings and Secret
        assert streams["spec"]["replicas"] == (2 if name.startswith("prod") else 1)
