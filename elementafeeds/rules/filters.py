"""Filters compiled into one predicate that names the rule that stopped a record.

`compile_filters(filters)` returns `check(record) -> str | None`: None when the record passes,
otherwise the operator-readable rule that stopped it (`search_price gt 10`, or for a group
`none of: in_stock eq yes; search_price gt 10`). Text comparisons ignore case unless
`case: sensitive`; numeric operators parse numbers the way feeds write them ("12,99 €").
The type of the configured value decides how `eq`, `ne`, `in` and `not_in` compare: a number
compares numerically, `true`/`false` compare as flags (yes/no/1/0 …), text compares as text.
A list-valued field (e.g. `variants[*].size`) passes a positive operator when any element
does; the negated operators (`ne`, `not_contains`, `not_in`, `not_empty`) are exactly the
negation of their positive twin.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

from elementafeeds.config.models import AllGroup, AnyGroup, FilterRule, Filters
from elementafeeds.rules.numbers import (
    SHORT,
    number_of,
    parse_flag,
    parse_number,
    short_float,
    short_plain,
)
from elementafeeds.rules.paths import compile_path, is_empty, plain_key, to_text

Check = Callable[[dict[str, Any]], "str | None"]
Test = Callable[[Any], bool]

NEGATED = {"ne": "eq", "not_contains": "contains", "not_in": "in", "not_empty": "empty"}


def render_rule(rule: FilterRule) -> str:
    """`field op value`, the way the operator wrote it."""
    if rule.op in ("empty", "not_empty"):
        text = f"{rule.field} {rule.op}"
    elif isinstance(rule.value, list):
        text = f"{rule.field} {rule.op} [{', '.join(_show(v) for v in rule.value)}]"
    else:
        text = f"{rule.field} {rule.op} {_show(rule.value)}"
    return text + (" (case sensitive)" if rule.case == "sensitive" else "")


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def compile_filters(filters: Filters) -> Check | None:
    """The record check of a connection, or None when it has no rules (all pass)."""
    if not filters.rules:
        return None
    nodes = [compile_node(n) for n in filters.rules]
    return _group(nodes, filters.match)


def filter_paths(filters: Filters) -> list[str]:
    """The record paths the filters read."""
    def walk(nodes: list[Any]) -> Iterator[str]:
        for node in nodes:
            if isinstance(node, AnyGroup):
                yield from walk(node.any)
            elif isinstance(node, AllGroup):
                yield from walk(node.all)
            else:
                yield node.field

    return list(walk(filters.rules))


def compile_node(node: FilterRule | AnyGroup | AllGroup) -> Check:
    if isinstance(node, AnyGroup):
        return _group([compile_node(n) for n in node.any], "any")
    if isinstance(node, AllGroup):
        return _group([compile_node(n) for n in node.all], "all")
    return compile_rule(node)


def _group(nodes: list[Check], match: str) -> Check:
    if len(nodes) == 1:
        return nodes[0]
    if match == "all":

        def all_pass(record: dict[str, Any]) -> str | None:
            for node in nodes:
                reason = node(record)
                if reason is not None:
                    return reason
            return None

        return all_pass

    def any_passes(record: dict[str, Any]) -> str | None:
        reasons = []
        for node in nodes:
            reason = node(record)
            if reason is None:
                return None
            reasons.append(reason)
        return "none of: " + "; ".join(reasons)

    return any_passes


def compile_rule(rule: FilterRule) -> Check:
    """One rule as a check. Plain keys are read inline (`record.get`), the hot path of CSV."""
    reason = render_rule(rule)
    positive = NEGATED.get(rule.op, rule.op)
    test = _TESTS[positive](rule)
    negate = rule.op in NEGATED
    key = plain_key(rule.field)
    get = compile_path(rule.field)
    if positive == "empty":  # a list is empty when all its elements are, not when any is
        if negate:
            return lambda record: reason if is_empty(get(record)) else None
        return lambda record: None if is_empty(get(record)) else reason
    if key is not None:
        if negate:

            def negated_plain(record: dict[str, Any]) -> str | None:
                value = record.get(key)
                if value.__class__ is list:
                    return reason if any(map(test, value)) else None
                return reason if test(value) else None

            return negated_plain

        def check_plain(record: dict[str, Any]) -> str | None:
            value = record.get(key)
            if value.__class__ is list:
                return None if any(map(test, value)) else reason
            return None if test(value) else reason

        return check_plain

    def check(record: dict[str, Any]) -> str | None:
        value = get(record)
        hit = any(map(test, value)) if value.__class__ is list else test(value)
        return reason if hit is negate else None

    return check


# ---------------------------------------------------------------------------------------------
# positive tests: value -> bool. Each is specialised by case so the hot path is one lambda.


def _norm(rule: FilterRule, value: Any) -> str:
    text = _show(value)
    return text if rule.case == "sensitive" else text.casefold()


def _eq(rule: FilterRule) -> Test:
    return _in_values(rule, [rule.value])


def _in(rule: FilterRule) -> Test:
    values = rule.value if isinstance(rule.value, list) else [rule.value]
    return _in_values(rule, values)


def _in_values(rule: FilterRule, values: list[Any]) -> Test:
    """Membership by the configured values' types: numbers, flags, else stripped text."""
    numbers = {Decimal(str(v)) for v in values if isinstance(v, (int, float))
               and not isinstance(v, bool)}
    flags = {v for v in values if isinstance(v, bool)}
    texts = frozenset(_norm(rule, v).strip() for v in values if isinstance(v, str))
    sensitive = rule.case == "sensitive"
    if texts and not numbers and not flags:
        if sensitive:
            return lambda v: (v if v.__class__ is str else to_text(v)).strip() in texts
        return lambda v: (v if v.__class__ is str else to_text(v)).strip().casefold() in texts

    def test(value: Any) -> bool:
        if texts:
            text = (value if value.__class__ is str else to_text(value)).strip()
            if (text if sensitive else text.casefold()) in texts:
                return True
        if numbers:
            number = number_of(value)
            if number is not None and number in numbers:
                return True
        if flags:
            raw = to_text(value).strip()
            if raw and parse_flag(raw) in flags:
                return True
        return False

    return test


def _contains(rule: FilterRule) -> Test:
    needle = _norm(rule, rule.value)
    if rule.case == "sensitive":
        return lambda v: needle in (v if v.__class__ is str else to_text(v))
    return lambda v: needle in (v if v.__class__ is str else to_text(v)).casefold()


def _starts_with(rule: FilterRule) -> Test:
    needle = _norm(rule, rule.value)
    if rule.case == "sensitive":
        return lambda v: (v if v.__class__ is str else to_text(v)).lstrip().startswith(needle)
    return lambda v: (v if v.__class__ is str else to_text(v)).lstrip().casefold().startswith(
        needle)


def _ends_with(rule: FilterRule) -> Test:
    needle = _norm(rule, rule.value)
    if rule.case == "sensitive":
        return lambda v: (v if v.__class__ is str else to_text(v)).rstrip().endswith(needle)
    return lambda v: (v if v.__class__ is str else to_text(v)).rstrip().casefold().endswith(
        needle)


def _regex(rule: FilterRule) -> Test:
    flags = 0 if rule.case == "sensitive" else re.IGNORECASE
    search = re.compile(str(rule.value), flags).search
    return lambda v: search(v if v.__class__ is str else to_text(v)) is not None


def _bound(value: Any) -> Decimal:
    return Decimal(str(value).replace(",", ".").strip())


_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le}


def _ordered(rule: FilterRule) -> Test:
    """gt, gte, lt and lte. A short plain number compares as a float: as exact as a Decimal
    (see `numbers.short_float`) and about three times cheaper, which counts where distinct
    prices outnumber the number cache."""
    holds, bound = _ORDER[rule.op], _bound(rule.value)
    fast = short_float(bound)

    def test(v: Any) -> bool:
        if fast is not None and v.__class__ is str and len(v) <= SHORT and short_plain(v):
            return holds(float(v.replace(",", ".")), fast)
        n = parse_number(v) if v.__class__ is str else number_of(v)
        return n is not None and holds(n, bound)

    return test


def _between(rule: FilterRule) -> Test:
    assert isinstance(rule.value, list)
    low, high = sorted(_bound(v) for v in rule.value)
    fast_low, fast_high = short_float(low), short_float(high)
    fast = fast_low is not None and fast_high is not None

    def test(v: Any) -> bool:
        if fast and v.__class__ is str and len(v) <= SHORT and short_plain(v):
            return fast_low <= float(v.replace(",", ".")) <= fast_high  # type: ignore[operator]
        n = parse_number(v) if v.__class__ is str else number_of(v)
        return n is not None and low <= n <= high

    return test


def _empty(rule: FilterRule) -> Test:
    return is_empty


_TESTS: dict[str, Callable[[FilterRule], Test]] = {
    "eq": _eq, "in": _in, "contains": _contains, "starts_with": _starts_with,
    "ends_with": _ends_with, "regex": _regex, "gt": _ordered, "gte": _ordered, "lt": _ordered,
    "lte": _ordered,
    "between": _between, "empty": _empty,
}
