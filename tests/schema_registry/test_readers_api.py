"""Reader schemas over the registry's REST API: a consumer registers the shape it reads, and
the registry refuses a producer version that reader could not read, whatever the mode."""

import json

import pytest

from edn_core.pytest_plugin import bearer_token
from schema_registry.models import ReaderOverride

pytestmark = pytest.mark.django_db(databases="__all__")
BASE = "/api/schemas/subjects"
SUBJECT = "v1.ParcelSent"

PRODUCER_V1 = {
    "type": "object",
    "properties": {
        "parcelId": {"type": "string"},
        "weight": {"type": "integer", "minimum": 0},
        "note": {"type": "string"},
    },
    "required": ["parcelId", "weight"],
}
# The producer drops weight: a reader that needs it cannot read such events.
PRODUCER_WITHOUT_WEIGHT = {
    "type": "object",
    "properties": {"parcelId": {"type": "string"}, "note": {"type": "string"}},
    "required": ["parcelId"],
}
READER = {
    "type": "object",
    "properties": {"parcelId": {"type": "string"}, "weight": {"type": "integer"}},
    "required": ["parcelId", "weight"],
}


def body(schema) -> dict:
    return {"schema": json.dumps(schema), "schemaType": "JSON"}


def register(api, schema, **extra):
    return api.post(f"{BASE}/{SUBJECT}/versions", {**body(schema), **extra}, format="json")


def put_reader(api, consumer, schema):
    return api.put(f"{BASE}/{SUBJECT}/consumers/{consumer}", body(schema), format="json")


def set_mode(api, mode):
    response = api.put(f"/api/schemas/config/{SUBJECT}", {"compatibility": mode}, format="json")
    assert response.status_code == 200, response.content


def test_a_reader_is_registered_listed_with_its_fields_and_replaced(api):
    """PUT registers (201) then replaces (200) a reader; GET lists it with the fields it reads
    and who registered it."""
    assert register(api, PRODUCER_V1).status_code == 200
    created = put_reader(api, "shipping", READER)
    assert created.status_code == 201, created.content
    assert created.json()["consumer"] == "shipping" and created.json()["id"] > 0
    listed = api.get(f"{BASE}/{SUBJECT}/consumers").json()
    assert [r["consumer"] for r in listed] == ["shipping"]
    assert listed[0]["reads"] == [
        {"field": "parcelId", "required": True},
        {"field": "weight", "required": True},
    ]
    assert listed[0]["registeredBy"] == "tester" and json.loads(listed[0]["schema"]) == READER
    smaller = {"type": "object", "properties": {"parcelId": {"type": "string"}}}
    assert put_reader(api, "shipping", smaller).status_code == 200
    assert api.get(f"{BASE}/{SUBJECT}/consumers").json()[0]["reads"] == [
        {"field": "parcelId", "required": False}
    ]


@pytest.mark.parametrize("mode", ["BACKWARD", "NONE"])
def test_a_version_a_reader_cannot_read_is_refused_in_any_mode(api, mode):
    """Dropping a field a registered reader requires is 409 naming the consumer, the field and
    the rule, under BACKWARD (which alone would allow it: removing a required field is
    backward compatible) and under NONE; retiring the reader lets the same version in."""
    register(api, PRODUCER_V1)
    set_mode(api, mode)
    put_reader(api, "shipping", READER)
    refused = register(api, PRODUCER_WITHOUT_WEIGHT)
    assert refused.status_code == 409, refused.content
    problem = refused.json()
    assert problem["error_code"] == 40901
    assert problem["conflicts"] == [
        {"consumer": "shipping", "field": "weight", "rule": "required-added"}
    ]
    assert "reader shipping: field weight [required-added]" in problem["messages"][0]
    assert api.get(f"{BASE}/{SUBJECT}/versions").json() == [1]
    retired = api.delete(f"{BASE}/{SUBJECT}/consumers/shipping")
    assert retired.status_code == 200 and retired.json()["consumer"] == "shipping"
    assert register(api, PRODUCER_WITHOUT_WEIGHT).status_code == 200
    assert api.get(f"{BASE}/{SUBJECT}/versions").json() == [1, 2]


def test_a_reader_the_latest_version_cannot_satisfy_is_refused(api):
    """A reader needing a field the producer's latest version does not give is 409."""
    register(api, PRODUCER_WITHOUT_WEIGHT)
    refused = put_reader(api, "shipping", READER)
    assert refused.status_code == 409
    assert refused.json()["conflicts"][0]["field"] == "weight"
    assert api.get(f"{BASE}/{SUBJECT}/consumers").json() == []


def test_the_compatibility_check_reports_reader_conflicts(api):
    register(api, PRODUCER_V1)
    set_mode(api, "NONE")
    put_reader(api, "shipping", READER)
    check = api.post(
        f"/api/schemas/compatibility/subjects/{SUBJECT}/versions/latest",
        body(PRODUCER_WITHOUT_WEIGHT),
        format="json",
    ).json()
    assert check["is_compatible"] is False
    assert any("reader shipping: field weight" in m for m in check["messages"])


def test_a_planned_break_is_registered_and_recorded_with_who_and_why(api):
    """``readerOverride`` names the readers a version may break: it is registered, and who
    asked, why and what it breaks are kept; a reader it does not name still refuses."""
    register(api, PRODUCER_V1)
    put_reader(api, "shipping", READER)
    put_reader(api, "billing", READER)
    planned = {"consumers": ["shipping"], "reason": "shipping v2 reads no weight"}
    partly = register(api, PRODUCER_WITHOUT_WEIGHT, readerOverride=planned)
    assert partly.status_code == 409
    assert {c["consumer"] for c in partly.json()["conflicts"]} == {"billing"}
    planned["consumers"].append("billing")
    accepted = register(api, PRODUCER_WITHOUT_WEIGHT, readerOverride=planned)
    assert accepted.status_code == 200, accepted.content
    assert accepted.json()["overriddenReaders"] == ["billing", "shipping"]
    rows = ReaderOverride.objects.filter(subject__name=SUBJECT).order_by("consumer")
    assert [(r.version, r.consumer, r.by, r.reason) for r in rows] == [
        (2, "billing", "tester", "shipping v2 reads no weight"),
        (2, "shipping", "tester", "shipping v2 reads no weight"),
    ]
    assert rows[0].conflicts == [
        {"consumer": "billing", "field": "weight", "rule": "required-added"}
    ]


@pytest.mark.parametrize(
    ("method", "path", "payload", "status", "code"),
    [
        ("put", "consumers/shipping", {"schema": "{not json"}, 422, 42201),
        ("put", "consumers/9bad", body(READER), 422, 42250),
        ("put", "consumers/shipping", {**body(READER), "extra": 1}, 400, 400),
        ("delete", "consumers/nobody", None, 404, 40450),
    ],
)
def test_bad_reader_requests_are_clear_4xx(api, method, path, payload, status, code):
    register(api, PRODUCER_V1)
    kwargs = {"format": "json"} if payload is not None else {}
    args = (payload,) if payload is not None else ()
    response = getattr(api, method)(f"{BASE}/{SUBJECT}/{path}", *args, **kwargs)
    assert response.status_code == status, response.content
    assert response.json()["error_code"] == code


def test_readers_of_an_unknown_subject_is_404(api):
    assert api.get(f"{BASE}/v1.Nothing/consumers").json()["error_code"] == 40401


def test_registering_a_reader_takes_the_write_scope(anonymous):
    """A token with only read scope may list readers but not register or retire one."""
    anonymous.credentials(
        HTTP_AUTHORIZATION=f"Bearer {bearer_token(scopes=['schema_registry:read'])}"
    )
    assert put_reader(anonymous, "shipping", READER).status_code == 403
    assert anonymous.delete(f"{BASE}/{SUBJECT}/consumers/shipping").status_code == 403


def test_the_admin_shows_each_reader_with_the_fields_it_reads_and_each_planned_break(api):
    """The subject page lists every reader with its fields (``*`` required) and every version
    registered although it broke a reader: who, why, what it breaks."""
    from django.urls import reverse

    from schema_registry.models import Subject
    from tests.support.staff import staff_client

    register(api, PRODUCER_V1)
    put_reader(api, "shipping", READER)
    planned = {"consumers": ["shipping"], "reason": "shipping v2 reads no weight"}
    register(api, PRODUCER_WITHOUT_WEIGHT, readerOverride=planned)
    client = staff_client(
        "schema_registry.view_subject",
        "schema_registry.view_reader",
        "schema_registry.view_readeroverride",
    )
    subject = Subject.objects.get(name=SUBJECT)
    html = client.get(reverse("admin:schema_registry_subject_change", args=[subject.pk])).content
    text = html.decode()
    assert "shipping" in text and "<code>parcelId*</code>, <code>weight*</code>" in text
    assert "shipping v2 reads no weight" in text and "<code>weight</code> [required-added]" in text
