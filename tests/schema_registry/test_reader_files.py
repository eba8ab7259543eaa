"""The reader schema files of this repository (``<app>/schemas/reads/<topic>.json``): valid
schemas that today's producer schemas satisfy, and that catch a producer dropping what a
reader needs (plain files, no database)."""

import copy
import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from edn_core.readers import conflicts

ROOT = Path(__file__).resolve().parents[2]
READERS = sorted(ROOT.glob("*/schemas/reads/v*.json"))
PRODUCERS = {file.stem: file for file in ROOT.glob("*/schemas/v*.json")}


def _load(file: Path) -> dict:
    return json.loads(file.read_text())


def _name(file: Path) -> str:
    return f"{file.parts[-4]}:{file.stem}"


def test_the_apps_declare_readers():
    """The glob finds the reader files (an empty list would make the checks below vacuous)."""
    assert len(READERS) >= 13
    assert len(PRODUCERS) >= 20


@pytest.mark.parametrize("file", READERS, ids=_name)
def test_each_reader_is_a_valid_schema(file):
    """Every reader file is a draft 2020-12 JSON Schema that says who reads it."""
    reader = _load(file)
    Draft202012Validator.check_schema(reader)
    assert reader["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert reader["title"] and reader["$comment"]


@pytest.mark.parametrize("file", READERS, ids=_name)
def test_each_reader_reads_its_producers_schema(file):
    """The producer schema of the topic in this repository gives the reader everything it
    needs: no conflict at all."""
    consumer = file.parts[-4]
    assert file.stem in PRODUCERS, f"no producer schema for {file.stem}"
    assert conflicts(consumer, _load(file), _load(PRODUCERS[file.stem])) == []


def test_a_producer_dropping_a_required_field_breaks_its_reader():
    """A copy of v1.OrderCancelled's producer schema that no longer requires orderId is
    refused for inventory (it releases the stock reserved under the order id): the conflict
    names the consumer, the field and the rule."""
    reader = _load(ROOT / "inventory" / "schemas" / "reads" / "v1.OrderCancelled.json")
    producer = copy.deepcopy(_load(PRODUCERS["v1.OrderCancelled"]))
    producer["required"].remove("orderId")

    found = conflicts("inventory", reader, producer)

    assert [c.as_dict() for c in found] == [
        {"consumer": "inventory", "field": "orderId", "rule": "required-added"}
    ]
    assert "inventory" in found[0].message and "orderId" in found[0].message
