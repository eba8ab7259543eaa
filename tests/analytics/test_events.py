"""What analytics publishes and how it reacts to what it handles, with the bus driven
by the platform's harness."""

import uuid

import pytest

from edn_core.bus.dispatch import DUPLICATE, HANDLED, deliver
from edn_core.events import message
from edn_core.testing import EventBus

pytestmark = pytest.mark.django_db(databases="__all__")
URL = "/api/analytics"


def test_creating_publishes_analytics_created_and_renaming_stays_inside(api):
    bus = EventBus()
    created = api.post(URL, {"name": "First"}, format="json")
    api.put(created["Location"], {"name": "Second"}, format="json", HTTP_IF_MATCH=created["ETag"])
    ours = [event for event in bus.published() if event.source == "/analytics"]
    assert [event.topic for event in ours] == ["v1.AnalyticsCreated"]
    assert ours[0].data == {"analyticsId": created.json()["id"], "name": "First"}
    assert ours[0].aggregate_id == created.json()["id"]
    assert bus.run_until_quiet() >= 1
    assert bus.pending() == 0 and bus.dead_letters() == []


@pytest.mark.parametrize("topic", ["v1.OrderPlaced"])
def test_a_handled_event_is_recorded_once_as_activity(api, settings, topic):
    """The data's schema is its publisher's to check: this checks the reaction only."""
    settings.EDN_SCHEMA_VALIDATION = False
    event = message("elsewhere", topic, {}, key=str(uuid.uuid4()), sequence=1)
    outcomes = [deliver(event.to_json(), app_labels={"analytics"}) for _ in range(2)]
    # delivered twice: handled, then recognized as a duplicate with no second effect
    assert [set(outcome.values()) for outcome in outcomes] == [{HANDLED}, {DUPLICATE}]
    listed = api.get(f"{URL}/activity", {"topic": topic}).json()
    assert listed["count"] == 1
    (row,) = listed["results"]
    assert (row["topic"], row["eventId"], row["subject"]) == (topic, event.id, event.aggregate_id)
    assert api.get(f"{URL}/activity", {"topic": "v1.NothingHere"}).json()["count"] == 0
