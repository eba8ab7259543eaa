"""The processors' tables in Django admin (on a site of this test: the analytics app registers
them on the project's): dead letters listed with their error, replayed once after the fix."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.admin import AdminSite
from django.contrib.auth import get_user_model
from django.urls import path

from edn_core.bus.stores import find_model
from edn_core.streams import processors
from edn_core.streams.admin import register_streams_admin
from edn_core.streams.database import DatabaseLog
from edn_core.streams.runtime import run
from edn_core.streams.runtime_models import ProcessorDeadLetterBase as DeadLetter
from edn_core.streams.runtime_models import (
    ProcessorLateRecordBase,
    ProcessorPositionBase,
    WindowResultBase,
)
from tests.edn_core.streams import runtime_support as support
from tests.edn_core.streams.adapter_database import ALIAS

site = AdminSite(name="streams_admin_test")
register_streams_admin(support.APP, site)
urlpatterns = [path("admin/", site.urls)]
pytestmark = [pytest.mark.django_db(databases=["default", ALIAS]), pytest.mark.urls(__name__)]


@pytest.fixture
def staff(client):
    get_user_model().objects.create_superuser("ops", "ops@example.com", "pw")
    client.login(username="ops", password="pw")
    return client


@pytest.fixture
def dead_letter():
    """A processor that dead-lettered order o12 (broken), and that row."""
    log = DatabaseLog(support.APP, ALIAS)
    stream, name = f"orders-{uuid.uuid4().hex[:8]}", f"stats-{uuid.uuid4().hex[:8]}"
    log.ensure(stream, 2)
    log.append(stream, support.orders(40))
    support.BROKEN.add("o12")
    try:
        processor = processors.register(support.processor(name, stream, attempts=1))
        run(processor, log, until=lambda r: not r.consumed, poll=0)
    finally:
        support.BROKEN.clear()
    model = find_model(support.APP, DeadLetter)
    yield model._default_manager.using(ALIAS).get(processor=name)
    log.close()


def test_a_dead_letter_is_listed_with_its_error_and_replayed_once(staff, dead_letter):
    url = f"/admin/{support.APP}/{dead_letter._meta.model_name}/"
    listing = staff.get(url, {"status__exact": "dead"})
    assert listing.status_code == 200
    assert b"ValueError: order o12 cannot be read" in listing.content
    detail = staff.get(f"{url}{dead_letter.pk}/change/")
    assert detail.status_code == 200 and b"&quot;o12&quot;" in detail.content
    for expected in ("1 replayed", "1 resolved"):  # a second replay does nothing
        response = staff.post(
            url, {"action": "replay", "_selected_action": [dead_letter.pk]}, follow=True
        )
        assert expected in response.content.decode()
    dead_letter.refresh_from_db()
    assert dead_letter.status == DeadLetter.RESOLVED


@pytest.mark.parametrize("base", [ProcessorPositionBase, ProcessorLateRecordBase, WindowResultBase])
def test_the_processor_tables_are_listed_read_only(staff, dead_letter, base):
    model = find_model(support.APP, base)
    url = f"/admin/{support.APP}/{model._meta.model_name}/"
    listing = staff.get(url)
    assert listing.status_code == 200 and dead_letter.processor.encode() in listing.content
    assert staff.get(f"{url}add/").status_code == 403


def test_a_dead_letter_of_a_processor_not_declared_here_is_left_as_it_is(staff, dead_letter):
    model = type(dead_letter)
    dead_letter.pk, dead_letter.processor = None, f"gone-{uuid.uuid4().hex[:8]}"
    dead_letter.save(using=ALIAS)
    url = f"/admin/{support.APP}/{model._meta.model_name}/"
    action = {"action": "replay", "_selected_action": [dead_letter.pk]}
    response = staff.post(url, action, follow=True)
    assert "1 of a processor not declared here" in response.content.decode()
    dead_letter.refresh_from_db()
    assert dead_letter.status == DeadLetter.DEAD
