"""``manage.py edn_dead_letter``: one dead letter on purpose, in development only."""

import io

import pytest
from django.core.management import CommandError, call_command

from edn_core.bus.stores import all_stores
from orders.models import FailedDelivery

pytestmark = pytest.mark.django_db(databases="__all__")


def dead_letters() -> list:
    return [row for s in all_stores() for row in s.rows(s.failures).all()]


def test_it_makes_one_dead_letter_of_the_app_and_says_where_to_see_it(settings):
    settings.DEBUG = True
    out = io.StringIO()
    call_command("edn_dead_letter", app="orders", stdout=out)
    (row,) = dead_letters()
    assert isinstance(row, FailedDelivery) and row.status == FailedDelivery.DEAD
    assert row.consumer.startswith("orders.") and row.attempts == 1
    assert "does not match its registered schema" in row.last_error
    assert f"/admin/orders/faileddelivery/{row.pk}/change/" in out.getvalue()
    assert "Dead letters" in out.getvalue()


def test_with_debug_off_it_is_refused_and_makes_nothing(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="development only"):
        call_command("edn_dead_letter")
    assert dead_letters() == []


def test_an_app_that_subscribes_to_nothing_here_is_refused(settings):
    settings.DEBUG = True
    with pytest.raises(CommandError, match="no hosted app"):
        call_command("edn_dead_letter", app="schema_registry")
    assert dead_letters() == []
