"""``edn_core.sql_reads.select_in``: the hot reads by key in SQL give exactly what the ORM's
``filter(...).values_list(...)`` gives (JSON, datetimes, binary, order), on SQLite and on
PostgreSQL (one statement text for any number of keys there)."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from edn_core.sql_reads import _statement, select_in
from orders.models import OrderEvent, SubjectKey

pytestmark = pytest.mark.django_db(databases="__all__")
COLUMNS = ("id", "stream_id", "version", "type", "data", "metadata", "recorded_at")


@pytest.fixture
def events():
    now = timezone.now()
    rows = [
        OrderEvent(
            stream_id=stream,
            stream_type="order",
            version=version,
            type="Thing",
            data={"n": version, "nested": {"list": [1, "two", None]}, "text": "é\"'"},
            metadata={"correlation_id": str(uuid.uuid4())},
            recorded_at=now - timedelta(minutes=10 - version),
        )
        for stream in ("s-1", "s-2", "s-3")
        for version in (1, 2, 3)
    ]
    OrderEvent.objects.using("orders").bulk_create(rows)
    return OrderEvent.objects.using("orders")


def test_rows_equal_the_orms_values_list(events):
    """Every column converted as the ORM converts it (JSON parsed, datetimes aware), in the
    asked order, only the keys and conditions asked for."""
    cut = events.get(stream_id="s-1", version=2).recorded_at
    got = select_in(
        OrderEvent,
        "orders",
        COLUMNS,
        "stream_id",
        ["s-3", "s-1"],
        where=[("version", ">", 1), ("recorded_at", "<=", cut + timedelta(minutes=1))],
        order_by=("stream_id", "version"),
    )
    wanted = list(
        events.filter(
            stream_id__in=["s-3", "s-1"], version__gt=1, recorded_at__lte=cut + timedelta(minutes=1)
        )
        .order_by("stream_id", "version")
        .values_list(*COLUMNS)
    )
    assert got == wanted and [(r[1], r[2]) for r in got] == [
        ("s-1", 2),
        ("s-1", 3),
        ("s-3", 2),
        ("s-3", 3),
    ]
    assert got[0][4]["nested"] == {"list": [1, "two", None]} and got[0][6].tzinfo is not None


def test_binary_and_null_values_come_back_as_the_orm_gives_them():
    SubjectKey.objects.using("orders").bulk_create(
        [SubjectKey(subject="kept", key=b"\x00\x01secret"), SubjectKey(subject="gone", key=None)]
    )
    got = dict(select_in(SubjectKey, "orders", ("subject", "key"), "subject", ["kept", "gone"]))
    assert bytes(got["kept"]) == b"\x00\x01secret" and got["gone"] is None
    assert select_in(SubjectKey, "orders", ("subject",), "subject", ["nobody"]) == []


def test_no_keys_reads_nothing_and_an_unknown_operator_is_refused(events):
    assert select_in(OrderEvent, "orders", ("id",), "stream_id", []) == []
    with pytest.raises(ValueError, match="operator"):
        select_in(OrderEvent, "orders", ("id",), "stream_id", ["s-1"], where=[("version", "!", 1)])


def test_the_statement_text_is_built_once_per_shape():
    """On PostgreSQL the keys go as one array (one text for any number); elsewhere the text
    is kept per number of keys."""
    _statement.cache_clear()
    for count in (1, 2, 2, 1):
        select_in(SubjectKey, "orders", ("subject",), "subject", [f"k{n}" for n in range(count)])
    info = _statement.cache_info()
    from django.db import connections

    shapes = 1 if connections["orders"].vendor == "postgresql" else 2
    assert (info.misses, info.hits) == (shapes, 4 - shapes)


def test_a_compiled_queryset_reads_what_the_orm_reads(events):
    """``compiled_rows``: the ORM's SQL for a query over a JSON key's text, compiled once
    per number of values, run with each call's values; a query that does not take its
    values as parameters is refused."""
    from django.db.models import TextField
    from django.db.models.fields.json import KeyTextTransform
    from django.db.models.functions import Cast

    from edn_core.sql_reads import _COMPILED, compiled_rows

    def query(texts):
        rows = events.annotate(text=Cast(KeyTextTransform("n", "data"), TextField()))
        return rows.filter(text__in=texts, type="Thing").order_by("id").values_list("stream_id")

    for wanted in (["1"], ["3"], ["1", "2"]):
        expected = list(query(wanted))
        assert compiled_rows("test.by_n", "orders", query, wanted) == expected and expected
    assert sum(1 for shape in _COMPILED if shape[0] == "test.by_n") == 2  # one text per count
    with pytest.raises(ValueError, match="as a parameter"):
        compiled_rows("test.fixed", "orders", lambda texts: events.values_list("id"), ["1"])
