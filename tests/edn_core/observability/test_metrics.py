"""Prometheus metrics in one process: /metrics guarded in production, the bus's counters and
histograms moving with real work, and the scrape-time figures (oldest pending outbox age,
dead letters, sagas) agreeing with ``edn_outbox`` and ``/readyz``."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from edn_core.testing import EventBus
from tests.customers.factories import customer_payload
from tests.test_flows import order_payload

pytestmark = pytest.mark.django_db(databases="__all__")
TOKEN = "metrics-token-for-tests-0123456789"


def _value(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _scrape(client, **headers) -> dict:
    """``{(name, sorted labels): value}`` of one scrape of /metrics."""
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def test_metrics_need_the_token_in_production(anonymous, settings, monkeypatch):
    settings.DEBUG = False
    assert anonymous.get("/metrics").status_code == 404  # no token set: not served
    monkeypatch.setenv("EDN_METRICS_TOKEN", TOKEN)
    assert anonymous.get("/metrics").status_code == 404
    assert anonymous.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 404
    _scrape(anonymous, HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    settings.DEBUG = True
    monkeypatch.delenv("EDN_METRICS_TOKEN")
    _scrape(anonymous)  # development: open


def test_a_flow_moves_the_http_publish_and_consume_metrics(api):
    topic, group = "v1.OrderPlaced", "sagas.start_CreateOrder"
    before = {
        "sent": _value("messaging_client_sent_messages_total", **_sent(topic)),
        "consumed": _value("messaging_client_consumed_messages_total", **_consumed(topic, group)),
        "lag": _value("edn_consumer_lag_seconds_count", **_group(topic, group)),
        "http": _value("http_server_request_duration_seconds_count", **_http("api/orders")),
    }
    customer = api.post("/api/customers", customer_payload(), format="json").json()
    payload = order_payload(customer["id"], customer["shippingAddress"])
    assert api.post("/api/orders", payload, format="json").status_code == 202
    EventBus().run_until_quiet()

    after = {
        "sent": _value("messaging_client_sent_messages_total", **_sent(topic)),
        "consumed": _value("messaging_client_consumed_messages_total", **_consumed(topic, group)),
        "lag": _value("edn_consumer_lag_seconds_count", **_group(topic, group)),
        "http": _value("http_server_request_duration_seconds_count", **_http("api/orders")),
    }
    assert {k: after[k] - before[k] for k in before} == {
        "sent": 1,
        "consumed": 1,
        "lag": 1,
        "http": 1,
    }


def _sent(topic):
    return {"messaging_system": "in_process", "messaging_destination_name": topic}


def _group(topic, group):
    return {"messaging_destination_name": topic, "messaging_consumer_group_name": group}


def _consumed(topic, group):
    return {**_group(topic, group), "messaging_system": "in_process", "edn_outcome": "handled"}


def _http(route, status="202"):
    return {
        "http_request_method": "POST",
        "http_route": route,
        "http_response_status_code": status,
    }


def test_the_oldest_pending_age_is_the_same_in_edn_outbox_readyz_and_metrics(
    api, anonymous, settings, capsys
):
    from orders.models import OutboxMessage

    customer = api.post("/api/customers", customer_payload(), format="json").json()
    payload = order_payload(customer["id"], customer["shippingAddress"])
    api.post("/api/orders", payload, format="json")
    rows = OutboxMessage.objects.using("orders").filter(sent_at__isnull=True)
    rows.update(created_at=timezone.now() - timedelta(seconds=100))

    settings.DEBUG = True
    scraped = _scrape(anonymous)
    ready = anonymous.get("/readyz").json()["outbox"]["orders"]
    call_command("edn_outbox")
    printed = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines()}

    age = scraped[("edn_outbox_oldest_pending_age_seconds", (("alias", "orders"),))]
    assert 100 <= age < 200
    assert 100 <= ready["oldestPendingAgeSeconds"] < 200
    assert 100 <= float(printed["orders"][2].rstrip("s")) < 200
    assert scraped[("edn_outbox_pending_messages", (("alias", "orders"),))] == ready["pending"]
    assert ready["pending"] == int(printed["orders"][1]) >= 1
    assert scraped[("edn_outbox_oldest_pending_age_seconds", (("alias", "inventory"),))] == 0
    EventBus().run_until_quiet()
    after = _scrape(anonymous)
    assert after[("edn_outbox_oldest_pending_age_seconds", (("alias", "orders"),))] == 0
    assert after[("edn_metrics_source_up", (("source", "bus"),))] == 1
    sagas = {k[1]: v for k, v in after.items() if k[0] == "edn_saga_instances"}
    assert sum(v for labels, v in sagas.items() if ("saga_type", "CreateOrder") in labels) >= 1


def test_dead_letters_are_counted_and_shown_present(anonymous, settings):
    from edn_core.bus.dispatch import deliver
    from edn_core.bus.failures import INVALID_ENVELOPE_CONSUMER

    labels = {"messaging_consumer_group_name": INVALID_ENVELOPE_CONSUMER}
    before = _value("edn_dead_letters_total", **labels)
    deliver('{"not": "an event"}', app_labels={"orders"})
    assert _value("edn_dead_letters_total", **labels) == before + 1
    settings.DEBUG = True
    assert _scrape(anonymous)[("edn_dead_letters_present", (("alias", "orders"),))] == 1
