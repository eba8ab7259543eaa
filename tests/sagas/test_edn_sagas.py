"""``manage.py edn_sagas``: expire overdue steps by hand, and count sagas by state."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from edn_core.testing import EventBus
from sagas.models import SagaRecord
from tests.sagas.helpers import new_customer, new_product, place

pytestmark = pytest.mark.django_db(databases="__all__")


def test_expire_fails_overdue_steps_and_status_counts_them(api):
    bus = EventBus()
    place(api, new_customer(api), new_product(api))
    from edn_core.bus.relay import drain
    from edn_core.bus.stores import store_for

    drain(store_for("orders"))  # the saga starts and asks for credit; nobody answers yet
    SagaRecord.objects.update(deadline=timezone.now() - timedelta(seconds=1))
    out = io.StringIO()
    call_command("edn_sagas", "expire", stdout=out)
    assert "expired 1 overdue saga step(s)" in out.getvalue()
    assert SagaRecord.objects.get().state == "Compensating"
    bus.run_until_quiet()
    status = io.StringIO()
    call_command("edn_sagas", "status", stdout=status)
    assert status.getvalue().strip() == "CreateOrder Compensated: 1"
