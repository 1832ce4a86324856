"""Every filter operator, case sensitivity, feed-style numbers, nested groups, reasons."""

from __future__ import annotations

from typing import Any

import pytest

from elementafeeds.config.models import Filters
from elementafeeds.rules.filters import compile_filters


def check(rules: list[Any], record: dict[str, Any], match: str = "any") -> str | None:
    compiled = compile_filters(Filters.model_validate({"match": match, "rules": rules}))
    assert compiled is not None
    return compiled(record)


def passes(rule: dict[str, Any], value: Any) -> bool:
    return check([rule], {"f": value}) is None


R = {"field": "f"}


@pytest.mark.parametrize(("op", "value", "field", "expected"), [
    ("eq", "yes", "Yes ", True), ("eq", "yes", "no", False),
    ("ne", "yes", "no", True), ("ne", "yes", "YES", False),
    ("contains", "pyyhe", "Kylpy PYYHE sininen", True), ("contains", "x", "abc", False),
    ("not_contains", "lahjakortti", "Pyyhe", True),
    ("not_contains", "lahjakortti", "Lahjakortti 50 €", False),
    ("starts_with", "koti", "Koti > Tekstiilit", True), ("starts_with", "tek", "Koti", False),
    ("ends_with", "pyyhkeet", "Koti > Pyyhkeet", True), ("ends_with", "koti", "Koti >", False),
    ("regex", r"^\d{13}$", "6401234567890", True), ("regex", r"^\d{13}$", "64012", False),
    ("gt", 10, "12,99", True), ("gt", 10, "10,00", False), ("gt", 10, "", False),
    ("gte", 10, "10,00 €", True), ("gte", 10, "9,99", False),
    ("lt", 10, "9.99", True), ("lt", 10, "1.299,00", False),
    ("lte", 1299, "1.299,00", True), ("lte", 1299, "1,299.01", False),
    ("between", [10, 20], "15,50", True), ("between", [20, 10], "15", True),
    ("between", [10, 20], "20,01", False), ("between", [10, 20], "abc", False),
    ("in", ["red", "blue"], "Blue", True), ("in", ["red", "blue"], "green", False),
    ("not_in", ["red", "blue"], "green", True), ("not_in", ["red", "blue"], "RED", False),
    ("empty", None, "  ", True), ("empty", None, None, True), ("empty", None, "x", False),
    ("not_empty", None, "x", True), ("not_empty", None, "", False),
])
def test_every_operator(op, value, field, expected):
    assert passes({**R, "op": op, "value": value}, field) is expected


@pytest.mark.parametrize(("op", "value", "field"), [
    ("eq", "Yes", "yes"), ("contains", "Pyyhe", "pyyhe"), ("starts_with", "K", "koti"),
    ("ends_with", "I", "koti"), ("regex", "^K", "koti"), ("in", ["Red"], "red"),
])
def test_case_sensitive_text_operators(op, value, field):
    rule = {**R, "op": op, "value": value}
    assert passes(rule, field)
    assert not passes({**rule, "case": "sensitive"}, field)


def test_negated_case_sensitive():
    assert passes({**R, "op": "ne", "value": "Yes", "case": "sensitive"}, "yes")
    assert not passes({**R, "op": "not_in", "value": ["Red"], "case": "sensitive"}, "Red")


def test_number_value_compares_numerically_with_eq_and_in():
    assert passes({**R, "op": "eq", "value": 10}, "10,00")
    assert passes({**R, "op": "in", "value": [1, 2.5]}, "2,50")
    assert not passes({**R, "op": "eq", "value": 10}, "10,01")


def test_boolean_value_compares_as_a_flag():
    # `value: yes` without quotes is a YAML boolean; it must still match the feed's "yes"/"1"
    assert passes({**R, "op": "eq", "value": True}, "yes")
    assert passes({**R, "op": "eq", "value": True}, "1")
    assert not passes({**R, "op": "eq", "value": True}, "no")
    assert passes({**R, "op": "ne", "value": True}, "0")


def test_list_valued_field_any_element_for_positive_none_for_negated():
    record = {"variants": [{"size": "S"}, {"size": "XL"}]}
    assert check([{"field": "variants[*].size", "op": "eq", "value": "xl"}], record) is None
    assert check([{"field": "variants[*].size", "op": "ne", "value": "xl"}], record) is not None
    assert check([{"field": "variants[*].size", "op": "not_in", "value": ["m"]}], record) is None
    assert check([{"field": "variants[*].size", "op": "empty"}], record) is not None
    assert check([{"field": "variants[*].size", "op": "empty"}], {"variants": []}) is None


def test_nested_path_and_plain_key_give_the_same_verdict():
    assert check([{"field": "price.amount", "op": "gt", "value": 5}],
                 {"price": {"amount": "12,99"}}) is None
    assert check([{"field": "price.amount", "op": "gt", "value": 50}],
                 {"price": {"amount": "12,99"}}) == "price.amount gt 50"


def test_reason_names_the_rule_that_stopped_the_record():
    rules = [{"field": "in_stock", "op": "eq", "value": "yes"},
             {"field": "price", "op": "gt", "value": 10}]
    record = {"in_stock": "yes", "price": "9,99"}
    assert check(rules, record, match="all") == "price gt 10"
    assert check(rules, {"in_stock": "no", "price": "1"}, match="any") == (
        "none of: in_stock eq yes; price gt 10")
    assert check(rules, record, match="any") is None


def test_reason_rendering_of_lists_empty_and_case():
    assert check([{"field": "c", "op": "in", "value": ["a", "b"]}], {"c": "x"}) == "c in [a, b]"
    assert check([{"field": "c", "op": "empty"}], {"c": "x"}) == "c empty"
    assert check([{"field": "c", "op": "eq", "value": "A", "case": "sensitive"}],
                 {"c": "a"}) == "c eq A (case sensitive)"


def test_match_any_is_the_default():
    assert Filters.model_validate({"rules": []}).match == "any"
    rules = [{"field": "a", "op": "eq", "value": "1"}, {"field": "b", "op": "eq", "value": "1"}]
    compiled = compile_filters(Filters.model_validate({"rules": rules}))
    assert compiled({"a": "1", "b": "0"}) is None


def test_nested_any_all_groups_to_depth():
    rules = [
        {"field": "in_stock", "op": "eq", "value": "yes"},
        {"any": [
            {"field": "brand", "op": "in", "value": ["hemtex", "ikea"]},
            {"all": [
                {"field": "price", "op": "gte", "value": 100},
                {"any": [{"field": "colour", "op": "eq", "value": "blue"},
                         {"field": "colour", "op": "eq", "value": "red"}]},
            ]},
        ]},
    ]
    base = {"in_stock": "yes", "brand": "other", "price": "150", "colour": "Red"}
    assert check(rules, base, match="all") is None
    assert check(rules, {**base, "colour": "green"}, match="all") == (
        "none of: brand in [hemtex, ikea]; none of: colour eq blue; colour eq red")
    assert check(rules, {**base, "price": "99", "brand": "IKEA"}, match="all") is None
    assert check(rules, {**base, "in_stock": "no"}, match="all") == "in_stock eq yes"


def test_no_rules_means_no_check():
    assert compile_filters(Filters()) is None


def test_missing_field_fails_positive_and_passes_negated_text_ops():
    assert not passes({**R, "op": "contains", "value": "a"}, None)
    assert passes({**R, "op": "not_contains", "value": "a"}, None)
    assert not passes({**R, "op": "gt", "value": 1}, None)
