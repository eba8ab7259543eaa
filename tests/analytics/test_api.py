"""The analytics HTTP contract: camelCase JSON, ETag and If-Match, problem+json errors."""

import uuid

import pytest

from analytics.domain import NAME_MAX
from analytics.models import AnalyticsRecord

pytestmark = pytest.mark.django_db(databases="__all__")
URL = "/api/analytics"


def test_create_get_list_and_rename_with_etags(api):
    created = api.post(URL, {"name": "First"}, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["name"] == "First" and created["Location"].endswith(body["id"])
    got = api.get(created["Location"])
    assert got.json() == body and got["ETag"] == created["ETag"]
    unchanged = api.get(created["Location"], HTTP_IF_NONE_MATCH=created["ETag"])
    assert unchanged.status_code == 304
    assert api.get(URL, {"name": "firs"}).json()["count"] == 1
    assert api.get(URL, {"name": "other"}).json()["count"] == 0

    without = api.put(created["Location"], {"name": "Second"}, format="json")
    assert without.status_code == 428
    renamed = api.put(
        created["Location"], {"name": "Second"}, format="json", HTTP_IF_MATCH=created["ETag"]
    )
    assert renamed.status_code == 200 and renamed.json()["name"] == "Second"
    assert renamed["ETag"] != created["ETag"]
    stale = api.put(
        created["Location"], {"name": "Third"}, format="json", HTTP_IF_MATCH=created["ETag"]
    )
    assert stale.status_code == 412
    assert stale["Content-Type"] == "application/problem+json"
    assert api.get(created["Location"]).json()["name"] == "Second"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": ""},
        {"name": " "},
        {"name": 7},
        {"name": "x" * (NAME_MAX + 1)},
        {"name": "First", "other": 1},
    ],
)
def test_bad_input_is_400_problem_and_writes_nothing(api, body):
    response = api.post(URL, body, format="json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert AnalyticsRecord.objects.count() == 0


def test_an_unknown_id_is_404_problem(api):
    missing = f"{URL}/{uuid.uuid4()}"
    assert api.get(missing).status_code == 404
    renamed = api.put(missing, {"name": "Second"}, format="json", HTTP_IF_MATCH='"1"')
    assert renamed.status_code == 404
    assert renamed["Content-Type"] == "application/problem+json"


def test_the_api_needs_a_token(anonymous):
    refused = anonymous.post(URL, {"name": "First"}, format="json")
    assert refused.status_code == 401
    assert AnalyticsRecord.objects.count() == 0
