"""Every field-mapping form: template, constant, from/template/value with transforms and
default, lists for multi-valued fields, and located compile errors."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter

from elementafeeds.config.models import FieldMapping
from elementafeeds.rules.mapping import MappingError, compile_mapping

ADAPTER = TypeAdapter(FieldMapping)
RECORD = {
    "product_name": " Pyyhe ", "brand_name": "Hemtex", "search_price": "12,99",
    "rrp_price": "", "img1": "https://i/1.jpg", "img2": "", "img3": "https://i/3.jpg",
    "price": {"amount": "9.5"}, "variants": [{"size": "S"}, {"size": "M"}],
    "description": "<p>Hyvä</p>",
}


def mapped(mapping: Any, record: dict[str, Any] = RECORD) -> Any:
    return compile_mapping(ADAPTER.validate_python(mapping))(record)


def test_template_string():
    assert mapped("{brand_name} {product_name}") == "Hemtex Pyyhe"
    assert mapped("Buy now") == "Buy now"


def test_bare_placeholder_keeps_the_raw_value():
    assert mapped("{variants[*].size}") == ["S", "M"]


@pytest.mark.parametrize("constant", [True, 3, 2.5])
def test_constants(constant):
    assert mapped(constant) == constant


def test_from_with_transforms():
    assert mapped({"from": "search_price", "transform": ["price"]}) == "12.99"
    assert mapped({"from": "description", "transform": ["strip_html", "upper"]}) == "HYVÄ"


def test_from_a_nested_path():
    assert mapped({"from": "price.amount", "transform": ["price"]}) == "9.50"


def test_from_a_list_of_fields_with_first_non_empty():
    assert mapped({"from": ["rrp_price", "search_price"],
                   "transform": ["first_non_empty", "price"]}) == "12.99"


def test_template_and_value_forms():
    assert mapped({"template": "{brand_name}: {product_name}", "transform": ["upper"]}) == (
        "HEMTEX: PYYHE")
    assert mapped({"value": "publish"}) == "publish"
    assert mapped({"value": ["a", "b"]}) == ["a", "b"]


def test_default_applies_when_the_result_is_empty():
    assert mapped({"from": "rrp_price", "default": "n/a"}) == "n/a"
    assert mapped({"from": "missing", "transform": ["trim"], "default": 0}) == 0
    assert mapped({"default": "only"}) == "only"


def test_list_for_multi_valued_fields_drops_empties_and_flattens():
    images = ["{img1}", "{img2}", {"from": "img3"}, "{variants[*].size}"]
    assert mapped(images) == ["https://i/1.jpg", "https://i/3.jpg", "S", "M"]


@pytest.mark.parametrize(("mapping", "where"), [
    ("{bad", ()),
    ({"from": "a..b"}, ("from",)),
    ({"from": ["ok", "a["]}, ("from", 1)),
    ({"template": "}"}, ("template",)),
    ({"from": "x", "transform": ["trim", "nope"]}, ("transform", 1)),
    ({"from": "x", "transform": [{"truncate": -1}]}, ("transform", 0)),
    (["{ok}", {"from": "x", "transform": ["bad"]}], (1, "transform", 0)),
])
def test_compile_errors_carry_their_location(mapping, where):
    with pytest.raises(MappingError) as info:
        compile_mapping(ADAPTER.validate_python(mapping))
    assert info.value.where == where


def test_from_a_list_of_fields_flattens_list_values():
    record = {"main": "https://i/1.jpg", "more": ["https://i/2.jpg", "https://i/3.jpg"]}
    assert mapped({"from": ["main", "more", "none"]}, record) == [
        "https://i/1.jpg", "https://i/2.jpg", "https://i/3.jpg", None]
    assert mapped({"from": ["x.y", "more"]}, {"x": {"y": "a"}, "more": ["b"]}) == ["a", "b"]
