"""`ef schema` is a valid JSON Schema that accepts the examples and rejects broken documents."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest

from elementafeeds.config.schema import json_schema
from elementafeeds.config.yaml_source import read_documents

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def example_documents() -> list[dict]:
    docs = []
    for path in [*(REPO / "examples").rglob("*.yaml"), *(REPO / "connections").rglob("*.yaml")]:
        if path.name == "ef.yaml":
            continue
        found, problems = read_documents(path)
        assert not problems
        docs += [d.data for d in found]
    return docs


def test_schema_accepts_every_example_document(validator) -> None:
    docs = example_documents()
    assert len(docs) >= 6
    for doc in docs:
        errors = list(validator.iter_errors(doc))
        assert errors == [], (doc.get("name"), [e.message for e in errors])


@pytest.mark.parametrize(
    "broken",
    [
        {"kind": "feed", "name": "x", "url": "a.csv", "bogus": 1},
        {"kind": "feed", "name": "x"},
        {"kind": "feed", "name": "x", "url": "a.csv", "format": "yaml"},
        {"kind": "connection", "name": "c", "feed": "f", "site": "s", "sku": "{id}",
         "filters": {"rules": [{"field": "a", "op": "eqq", "value": 1}]}},
        {"kind": "site", "name": "s", "url": "https://x", "limits": {"batch_size": 500}},
        {"kind": "spaceship", "name": "x"},
    ],
)
def test_schema_rejects_broken_documents(validator, broken: dict) -> None:
    assert list(validator.iter_errors(broken))
