"""The statistics HTTP contract: windows of the range with figures summed over partitions,
bad input refused with 400 problem+json, a token needed, the rules in the OpenAPI document."""

import uuid

import pytest

from tests.analytics.factories import MINUTE, START, OrderMinuteFactory, ProductMinuteFactory

pytestmark = pytest.mark.django_db(databases="__all__")
ORDERS = "/api/stats/orders"
RANGE = {"from": "2026-12-01T10:00:00Z", "to": "2026-12-01T10:03:00Z"}


def results(response):
    assert response.status_code == 200, response.content
    return [
        (w["windowStart"], w["windowEnd"], w["orders"], w["units"], w["revenue"])
        for w in response.json()["results"]
    ]


def test_each_minute_sums_the_partitions_and_empty_minutes_are_zeros(api):
    OrderMinuteFactory(window_start=START, orders=2, units=3, revenue="20.10")
    OrderMinuteFactory(window_start=START, partition=1, orders=1, units=1, revenue="0.05")
    OrderMinuteFactory(window_start=START + 2 * MINUTE, final=False)
    OrderMinuteFactory(window_start=START + 3 * MINUTE)  # at `to`: outside
    assert results(api.get(ORDERS, {**RANGE, "window": "PT1M"})) == [
        ("2026-12-01T10:00:00Z", "2026-12-01T10:01:00Z", 3, 4, "20.15"),
        ("2026-12-01T10:01:00Z", "2026-12-01T10:02:00Z", 0, 0, "0.00"),
        ("2026-12-01T10:02:00Z", "2026-12-01T10:03:00Z", 1, 2, "10.00"),
    ]
    assert results(api.get(ORDERS, RANGE)) == results(api.get(ORDERS, {**RANGE, "window": "PT1M"}))


@pytest.mark.parametrize(
    ("window", "starts"),
    [
        ("PT5M", ["10:00", "10:05"]),
        ("PT10M", ["10:00"]),
        ("PT1H", ["10:00"]),
        ("P1D", ["00:00"]),
    ],
)
def test_larger_windows_add_up_their_minutes(api, window, starts):
    for minute in (0, 4, 5, 9):
        OrderMinuteFactory(window_start=START + minute * MINUTE)
    OrderMinuteFactory(window_start=START - MINUTE)  # before 10:00 (only in the day)
    query = {"window": window, "from": "2026-12-01T10:02:00+00:00", "to": "2026-12-01T10:07:00Z"}
    got = results(api.get(ORDERS, query))
    assert [start[11:16] for start, *_ in got] == starts
    day = {"PT5M": [2, 2], "PT10M": [4], "PT1H": [4], "P1D": [5]}[window]
    assert [orders for *_, orders, _units, _revenue in got] == day


def test_a_product_has_its_own_figures_and_an_unknown_one_zeros(api):
    product, another = uuid.uuid4(), uuid.uuid4()
    ProductMinuteFactory(product_id=product, window_start=START, orders=1, units=5, revenue="1.25")
    ProductMinuteFactory(product_id=product, window_start=START, partition=2, revenue="1.00")
    ProductMinuteFactory(product_id=another, window_start=START)
    got = results(api.get(f"/api/stats/products/{product}", {**RANGE, "window": "PT5M"}))
    assert got == [("2026-12-01T10:00:00Z", "2026-12-01T10:05:00Z", 2, 7, "2.25")]
    unknown = results(api.get(f"/api/stats/products/{uuid.uuid4()}", RANGE))
    assert [figures for _start, _end, *figures in unknown] == [[0, 0, "0.00"]] * 3


def test_times_in_other_offsets_are_read_in_utc(api):
    OrderMinuteFactory(window_start=START)
    query = {"from": "2026-12-01T11:00:00+01:00", "to": "2026-12-01T05:01:00-05:00"}
    assert results(api.get(ORDERS, query)) == [
        ("2026-12-01T10:00:00Z", "2026-12-01T10:01:00Z", 1, 2, "10.00")
    ]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({**RANGE, "window": "PT30S"}, "window"),
        ({**RANGE, "window": "PT1441M"}, "window"),
        ({**RANGE, "window": "1"}, "window"),
        ({**RANGE, "window": "PT1H30M"}, "window"),
        ({"to": RANGE["to"]}, "from"),
        ({"from": RANGE["from"]}, "to"),
        ({**RANGE, "from": "2026-12-01T10:00:00"}, "from"),  # no offset
        ({**RANGE, "to": "yesterday"}, "to"),
        ({**RANGE, "to": "2026-02-30T10:00:00Z"}, "to"),
        ({**RANGE, "to": RANGE["from"]}, "to"),  # an empty range
        ({"from": RANGE["to"], "to": RANGE["from"]}, "to"),  # from after to
        ({"from": RANGE["from"], "to": "2026-12-02T10:01:00Z"}, "to"),  # 1,441 windows
        ({"from": RANGE["from"], "to": "2027-01-01T10:01:00Z", "window": "PT1H"}, "to"),  # 31 d+
        ({**RANGE, "page": "1"}, "page"),
        ({**RANGE, "productId": str(uuid.uuid4())}, "productId"),
    ],
)
def test_bad_queries_are_400_problems_naming_the_parameter(api, query, field):
    for url in (ORDERS, f"/api/stats/products/{uuid.uuid4()}"):
        response = api.get(url, query)
        assert response.status_code == 400, response.content
        assert response["Content-Type"] == "application/problem+json"
        assert field in response.json()["errors"], response.json()


def test_the_longest_ranges_are_answered(api):
    day = results(api.get(ORDERS, {"from": RANGE["from"], "to": "2026-12-02T10:00:00Z"}))
    month = {"from": RANGE["from"], "to": "2027-01-01T10:00:00Z", "window": "PT1H"}
    assert (len(day), len(results(api.get(ORDERS, month)))) == (1440, 744)


def test_a_bad_product_id_is_404_and_other_methods_are_405(api):
    assert api.get("/api/stats/products/not-a-uuid", RANGE).status_code == 404
    refused = api.post(ORDERS, {}, format="json")
    assert refused.status_code == 405 and "GET" in refused["Allow"]


def test_the_statistics_need_a_token(anonymous):
    assert anonymous.get(ORDERS, RANGE).status_code == 401
    assert anonymous.get(f"/api/stats/products/{uuid.uuid4()}", RANGE).status_code == 401


def test_the_document_states_the_parameters_and_the_answer(api):
    document = api.get("/api/schema/?format=json", HTTP_ACCEPT="application/json").json()
    for path in ("/api/stats/orders", "/api/stats/products/{productId}"):
        operation = document["paths"][path]["get"]
        parameters = {p["name"]: p for p in operation["parameters"]}
        assert parameters["from"]["required"] and parameters["to"]["required"]
        assert parameters["from"]["schema"]["format"] == "date-time"
        assert parameters["window"]["schema"]["default"] == "PT1M"
        assert "pattern" in parameters["window"]["schema"]
        assert set(operation["responses"]) >= {"200", "400", "401", "503"}
        assert operation["security"]
    window = document["components"]["schemas"]["WindowOut"]
    assert set(window["required"]) == {"windowStart", "windowEnd", "orders", "units", "revenue"}
    assert window["properties"]["revenue"]["type"] == "string"
    product = document["paths"]["/api/stats/products/{productId}"]["get"]["parameters"]
    assert {p["name"]: (p["in"], p["schema"]) for p in product}["productId"] == (
        "path",
        {"type": "string", "format": "uuid"},
    )
