"""``manage.py edn_streams``: streams and groups with their lag (a count and the age of the
oldest entry waiting), a processor run until caught up, resets of a plain group and of a
processor's group (which can only start over), retention, and refusals."""

import io
import uuid
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from analytics.read_models import OrderMinute
from edn_core.bus.worker import _periodic
from edn_core.streams import operations
from edn_core.streams.feed import log_for, trim_hosted_streams, trim_streams
from edn_core.streams.port import NewEntry
from edn_core.testing import EventBus
from tests.analytics.test_flow import place

pytestmark = pytest.mark.django_db(databases="__all__")
TEA = uuid.uuid4()


def command(*args) -> str:
    out = io.StringIO()
    call_command("edn_streams", *args, stdout=out)
    return out.getvalue()


def lags() -> dict[str, int]:
    return {row.group: row.behind for row in operations.standing() if row.stream == "orders"}


def test_list_run_reset_and_trim(api, monkeypatch):
    for _ in range(3):
        place(api, uuid.uuid4(), (TEA, 2, "3.50"))
    EventBus().run_until_quiet()
    log = log_for("analytics", "orders")
    entries = sum(log.info("orders").last_offsets.values())
    assert entries >= 3  # each order's events: placed (and created or rejected by the saga)

    listed = command("list")
    assert "analytics.order-minutes (processor)" in listed
    assert lags()["analytics.order-minutes"] == entries
    oldest = next(r for r in operations.standing() if r.group == "analytics.order-minutes")
    assert timedelta(0) <= oldest.oldest_age < timedelta(days=1)

    ran = command("run", "analytics.order-minutes", "--until-caught-up")
    assert f"{entries:,} entries applied" in ran
    assert lags()["analytics.order-minutes"] == 0
    assert sum(row.orders for row in OrderMinute.objects.using("analytics")) == 3

    # a plain group: commit everything, then move it back by time and by offset
    log.commit("orders", "reports", log.info("orders").last_offsets)
    assert lags()["reports"] == 0
    command("reset", "reports", "--stream", "orders", "--to", "earliest", "--yes")
    assert lags()["reports"] == entries
    command("reset", "reports", "--stream", "orders", "--to", "latest", "--yes")
    assert lags()["reports"] == 0
    future = (timezone.now() + timedelta(days=1)).isoformat()
    command("reset", "reports", "--stream", "orders", "--to", future, "--yes")
    assert lags()["reports"] == 0

    # a processor's group starts over (its windows cannot be rewound to a point)
    with pytest.raises(CommandError, match="cannot be rewound"):
        command("reset", "analytics.order-minutes", "--stream", "orders", "--to", "latest", "--yes")
    monkeypatch.setattr("builtins.input", lambda prompt: "no")
    with pytest.raises(CommandError, match="cancelled"):
        command("reset", "analytics.order-minutes", "--stream", "orders", "--to", "earliest")
    assert lags()["analytics.order-minutes"] == 0
    monkeypatch.setattr("builtins.input", lambda prompt: "yes")
    command("reset", "analytics.order-minutes", "--stream", "orders", "--to", "earliest")
    assert lags()["analytics.order-minutes"] == entries
    assert not OrderMinute.objects.using("analytics").exists()  # its results start over too

    # retention (the project's P7D): nothing recent goes; eight days on, everything
    assert "orders: 0 entries removed" in command("trim")
    log.append("orders", [NewEntry("k", {"type": "v1.Test"})])
    later = timezone.now() + timedelta(days=8)
    assert trim_streams("analytics", now=later) == {"orders": entries + 1}
    # every bus worker applies it hourly, for the streams its process feeds
    assert _periodic["edn-streams-retention"] == (3600.0, trim_hosted_streams)
    assert trim_hosted_streams() == {"orders": 0}


def test_refusals():
    with pytest.raises(CommandError, match="needs a name"):
        command("run")
    with pytest.raises(CommandError, match="nope"):
        command("run", "nope")
    with pytest.raises(CommandError, match="--stream NAME and --to"):
        command("reset", "g")
    with pytest.raises(CommandError, match="no stream elsewhere"):
        command("reset", "g", "--stream", "elsewhere", "--to", "earliest", "--yes")
