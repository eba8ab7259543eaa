"""A real Prometheus (Debian's ``prometheus`` package) scrapes running services with
deploy/observability's scrape jobs and alert rules.

registry: gunicorn hosting schema_registry
customers: gunicorn (``/metrics`` behind ``EDN_METRICS_TOKEN``) + edn_relay (``EDN_METRICS_PORT``)

Prometheus finds them through the pods a Kubernetes discovery would describe (a file instead:
Debian's build has no Kubernetes discovery), so the jobs' relabelling keeps exactly the web
and relay ports the annotations name, and the web job sends its bearer token from a file.
While the relay is stopped, a customer's new address waits in the outbox
(v1.CustomerAddressUpdated) and the age of the oldest pending row grows in PromQL; once the
relay is back, it falls to 0. Every alert rule and every dashboard query then evaluates
against the live data.
"""

import json
import os
import secrets
import sys

import httpx
import yaml

from tests.conftest import BROKERS, broker_or_skip
from tests.deploy.observability import (
    ALERTS,
    SCRAPE,
    alert_rules,
    concrete,
    dashboard_expressions,
    prometheus_tool,
)
from tests.support.deployment import Deployment, free_port, postgres_or_skip, wait_for
from tests.support.processes import Service, http_ok

SERVICES = {"registry": ["schema_registry"], "customers": ["customers"]}
RELAY = [sys.executable, "manage.py", "edn_relay"]
DEADLINE_S = 180.0  # a loaded machine is slow: the deadline fails only a stuck run
AGE = 'edn_outbox_oldest_pending_age_seconds{alias="customers"}'
PENDING = 'edn_outbox_pending_messages{alias="customers"}'
SENT = 'sum(messaging_client_sent_messages_total{service="customers", component="relay"})'


def pod(address: str, name: str, component: str, port: int | None, **extra: str) -> dict:
    """A target as Kubernetes' pod discovery gives it: one per container port."""
    labels = {
        "__meta_kubernetes_namespace": "edn",
        "__meta_kubernetes_pod_name": name,
        "__meta_kubernetes_pod_phase": "Running",
        "__meta_kubernetes_pod_label_app_kubernetes_io_name": "customers",
        "__meta_kubernetes_pod_label_app_kubernetes_io_component": component,
        "__meta_kubernetes_pod_container_port_number": address.rsplit(":", 1)[1],
    }
    if port is not None:
        labels |= {
            "__meta_kubernetes_pod_annotation_prometheus_io_scrape": "true",
            "__meta_kubernetes_pod_annotation_prometheus_io_port": str(port),
            "__meta_kubernetes_pod_annotation_prometheus_io_path": "/metrics",
        }
    return {"targets": [address], "labels": labels | extra}


def prometheus_config(tmp_path, web: int, relay: int, token: str):
    """deploy/observability's scrape jobs and rules, every second, over the pods of this run:
    the customers web and relay pods, and what the jobs must leave alone."""
    token_file = tmp_path / "metrics-token"
    token_file.write_text(token)
    pods = tmp_path / "pods.json"
    pods.write_text(
        json.dumps(
            [
                pod(f"127.0.0.1:{web}", "customers-web-0", "web", web),
                pod(f"127.0.0.1:{free_port()}", "customers-web-0", "web", web),  # Dapr's port
                pod(f"127.0.0.1:{relay}", "customers-relay-0", "relay", relay),
                pod(f"127.0.0.1:{free_port()}", "customers-migrate-0", "migrate", None),
                pod(
                    f"127.0.0.1:{relay}",
                    "customers-relay-old",
                    "relay",
                    relay,
                    __meta_kubernetes_pod_phase="Succeeded",
                ),
            ]
        )
    )
    jobs = yaml.safe_load(SCRAPE.read_text())["scrape_configs"]
    for job in jobs:
        del job["kubernetes_sd_configs"]
        job["file_sd_configs"] = [{"files": [str(pods)], "refresh_interval": "1s"}]
        if "authorization" in job:
            job["authorization"]["credentials_file"] = str(token_file)
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(ALERTS)],
        "scrape_configs": jobs,
    }
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path


class Prometheus:
    """A Prometheus server of this test: its own storage under tmp_path, a free port."""

    def __init__(self, tmp_path, config) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        command = [
            prometheus_tool("prometheus"),
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ]
        log = tmp_path / "prometheus.log"
        self.process = Service("prometheus", command, dict(os.environ), log)
        self.http = httpx.Client(base_url=self.url, timeout=10)

    def __enter__(self) -> "Prometheus":
        self.process.start()
        ready = f"{self.url}/-/ready"
        self.process.wait_ready(lambda: http_ok(ready), DEADLINE_S, ready)
        return self

    def __exit__(self, *exc) -> None:
        self.process.stop()
        self.http.close()

    def query(self, expr: str) -> dict:
        return self.http.get("/api/v1/query", params={"query": expr}).json()

    def value(self, expr: str) -> float | None:
        result = self.query(expr)["data"]["result"]
        return float(result[0]["value"][1]) if result else None

    def targets(self) -> list[dict]:
        return self.http.get("/api/v1/targets").json()["data"]["activeTargets"]

    def rules(self) -> list[dict]:
        groups = self.http.get("/api/v1/rules").json()["data"]["groups"]
        return [rule for group in groups for rule in group["rules"]]


def move(customers: httpx.Client, customer: dict, created: httpx.Response) -> None:
    """A new shipping address: customers writes v1.CustomerAddressUpdated to its outbox."""
    customer["shippingAddress"]["street"] = "2 New Road"
    headers = {"If-Match": created.headers["ETag"]}
    moved = customers.put(created.headers["Location"], headers=headers, json=customer)
    assert moved.status_code == 200, moved.text


def test_prometheus_sees_the_outbox_age_grow_while_the_relay_is_stopped(tmp_path):
    postgres_or_skip()
    prometheus_tool("prometheus")
    broker = broker_or_skip(BROKERS["rabbitmq"])
    token, relay_port = secrets.token_urlsafe(32), free_port()
    deployment = Deployment(
        SERVICES,
        broker,
        tmp_path,
        EDN_METRICS_TOKEN=token,
        EDN_METRICS_PORT=str(relay_port),  # served by the relay only (not gunicorn)
        EDN_METRICS_ADDRESS="127.0.0.1",
    )
    with deployment:
        deployment.manage_each({service: [("migrate_all",)] for service in SERVICES})
        deployment.serve("registry")
        deployment.manage("customers", "edn_schemas", "register")
        deployment.serve("customers")
        relay = deployment.start("customers", "relay", *RELAY)
        web = deployment.url("customers")
        assert httpx.get(f"{web}/metrics").status_code == 404  # no token, no metrics
        user = deployment.manage("customers", "edn_token", "prometheus").strip().splitlines()[-1]
        customers = httpx.Client(base_url=web, headers={"Authorization": f"Bearer {user}"})
        customer = {
            "firstName": "Ada",
            "lastName": "Lovelace",
            "creditLimit": "100.00",
            "shippingAddress": {
                "street": "1 Old Road",
                "city": "Leeds",
                "state": "WY",
                "country": "UK",
                "postalCode": "LS1",
            },
        }
        created = customers.post("/api/customers", json=customer)
        assert created.status_code == 201, created.text

        config = prometheus_config(tmp_path, deployment.ports["customers"], relay_port, token)
        with Prometheus(tmp_path, config) as api:

            def both_up():
                up = api.query('up{job=~"edn-.*"} == 1')["data"]["result"]
                return len(up) == 2 and up

            wait_for(both_up, DEADLINE_S, f"both targets up; see {tmp_path}/prometheus.log")
            kept = {(t["labels"]["job"], t["labels"]["pod"]): t["labels"] for t in api.targets()}
            assert set(kept) == {
                ("edn-web", "customers-web-0"),
                ("edn-processes", "customers-relay-0"),
            }, "the jobs keep the annotated port of each running pod, and nothing else"
            for (job, _), labels in kept.items():
                assert labels["namespace"] == "edn" and labels["service"] == "customers"
                assert labels["component"] == ("web" if job == "edn-web" else "relay")
            wait_for(lambda: api.value(AGE) == 0, DEADLINE_S, "an empty outbox, age 0")

            relay.stop()
            move(customers, customer, created)
            first = wait_for(lambda: (api.value(AGE) or 0) > 0 and api.value(AGE), DEADLINE_S, AGE)
            grown = f"{AGE} to grow past {first}"
            wait_for(lambda: (api.value(AGE) or 0) > first, DEADLINE_S, grown)
            assert api.value(PENDING) == 1

            deployment.start("customers", "relay", *RELAY)
            wait_for(lambda: api.value(AGE) == 0, DEADLINE_S, f"{AGE} back to 0")
            assert api.value(PENDING) == 0
            wait_for(lambda: (api.value(SENT) or 0) >= 1, DEADLINE_S, "the relay's own counters")

            queries = [(r["alert"], r["expr"]) for r in alert_rules()]
            queries += [(where, concrete(expr)) for where, expr in dashboard_expressions()]
            for where, expr in queries:
                answer = api.query(expr)
                assert answer["status"] == "success", f"{where}: {answer}"

            def rules_evaluated():
                rules = api.rules()
                healthy = all(rule["health"] == "ok" for rule in rules)
                return healthy and len(rules) == len(alert_rules()) and rules

            evaluated = wait_for(rules_evaluated, DEADLINE_S, "every alert rule evaluated")
            assert {rule["name"] for rule in evaluated} == {r["alert"] for r in alert_rules()}
