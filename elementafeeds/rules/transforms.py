"""The transforms a field mapping may apply, and the registry that finds them by name.

A transform is written as its name (`trim`) or as a one-key mapping with its argument
(`{truncate: 120}`, `{replace: {from: a, to: b}}`). Each name maps to a *factory* that checks
the argument once, at compile time, and returns a plain `value -> value` function, so a bad
argument is a configuration problem with a line number and never a surprise on record 80 000.

Values flowing through a chain are text, lists of text (after `split`, or from list-valued
paths), Decimals (after `multiply`, `add`, `round`), booleans (after `bool`) or None (missing).
Text transforms apply to each element of a list and leave None alone.

Third-party transforms register under the entry-point group `elementafeeds.transforms`: the
entry point names a factory `factory(argument) -> Callable[[value], value]` (the argument is
None when the transform is written by name only); it raises ValueError for a bad argument.
`registry.py` finds transforms by name and compiles chains.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from elementafeeds.rules.numbers import (
    format_price,
    number_of,
    parse_flag,
    price_text,
)
from elementafeeds.rules.paths import is_empty, to_text
from elementafeeds.rules.text import html_to_text, slugify, strip_html, title_case

Transform = Callable[[Any], Any]
Factory = Callable[[Any], Transform]
ENTRY_POINT_GROUP = "elementafeeds.transforms"


class TransformSpecError(ValueError):
    """A transform that is unknown or has a bad argument (a configuration problem)."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


class TransformError(ValueError):
    """A transform could not handle one record's value (the record fails with this reason)."""


# ---------------------------------------------------------------------------------------------
# helpers


def _no_arg(name: str, fn: Callable[[str], Any]) -> Factory:
    def factory(arg: Any) -> Transform:
        if arg is not None:
            raise TransformSpecError(f"transform {name} takes no argument (write just `{name}`)")
        return _each(fn)

    return factory


def _each(fn: Callable[[str], Any]) -> Transform:
    """Apply a text function to text, to each element of a list; None stays None."""

    def apply(value: Any) -> Any:
        if value.__class__ is str:
            return fn(value)
        if value is None:
            return None
        if isinstance(value, list):
            return [fn(to_text(v)) for v in value if v is not None]
        return fn(to_text(value))

    return apply


# ---------------------------------------------------------------------------------------------
# factories with arguments


def _truncate(arg: Any) -> Transform:
    suffix = "…"
    if isinstance(arg, dict):
        unknown = set(arg) - {"length", "suffix"}
        if unknown:
            raise TransformSpecError(f"truncate takes length and suffix, not {sorted(unknown)}")
        suffix = str(arg.get("suffix", suffix))
        arg = arg.get("length")
    if isinstance(arg, bool) or not isinstance(arg, int) or arg <= len(suffix):
        raise TransformSpecError(
            f"truncate needs a length greater than {len(suffix)}, e.g. {{truncate: 120}}")
    length = arg

    def cut(text: str) -> str:
        if len(text) <= length:
            return text
        head = text[: length - len(suffix)]
        space = head.rfind(" ")
        if space > len(head) * 0.6:
            head = head[:space]
        return head.rstrip(" ,;:.-") + suffix

    return _each(cut)


def _replace(arg: Any) -> Transform:
    pairs = arg if isinstance(arg, list) else [arg]
    table: list[tuple[str, str]] = []
    for pair in pairs:
        if not isinstance(pair, dict) or "from" not in pair or set(pair) - {"from", "to"}:
            raise TransformSpecError("replace needs {from: TEXT, to: TEXT} (or a list of them)")
        if pair["from"] in (None, ""):
            raise TransformSpecError("replace: `from` must not be empty")
        table.append((str(pair["from"]), "" if pair.get("to") is None else str(pair["to"])))

    def replace(text: str) -> str:
        for old, new in table:
            text = text.replace(old, new)
        return text

    return _each(replace)


def _regex_extract(arg: Any) -> Transform:
    group: int | str | None = None
    if isinstance(arg, dict):
        if "pattern" not in arg or set(arg) - {"pattern", "group"}:
            raise TransformSpecError("regex_extract takes a pattern, or {pattern: …, group: N}")
        group = arg.get("group")
        arg = arg["pattern"]
    if not isinstance(arg, str) or not arg:
        raise TransformSpecError('regex_extract needs a pattern, e.g. {regex_extract: "(\\\\d+)"}')
    try:
        pattern = re.compile(arg)
    except re.error as exc:
        raise TransformSpecError(f"regex_extract: invalid regular expression {arg!r}: {exc}")
    if group is None:
        group = 1 if pattern.groups else 0
    if isinstance(group, int) and group > pattern.groups:
        raise TransformSpecError(f"regex_extract: the pattern has no group {group}")

    def extract(text: str) -> str:
        match = pattern.search(text)
        return (match.group(group) or "") if match else ""

    return _each(extract)


def _number_arg(name: str, arg: Any) -> Decimal:
    if isinstance(arg, bool) or arg is None:
        raise TransformSpecError(f"{name} needs a number, e.g. {{{name}: 1.25}}")
    try:
        return Decimal(str(arg).replace(",", ".").strip())
    except InvalidOperation:
        raise TransformSpecError(f"{name} needs a number, not {arg!r}") from None


def _arith(name: str, op: Callable[[Decimal, Decimal], Decimal]) -> Factory:
    def factory(arg: Any) -> Transform:
        operand = _number_arg(name, arg)

        def apply(value: Any) -> Any:
            if is_empty(value):
                return None
            if isinstance(value, list):
                return [apply(v) for v in value if not is_empty(v)]
            number = number_of(value)
            if number is None:
                raise TransformError(f"{name}: {to_text(value)!r} is not a number")
            return op(number, operand)

        return apply

    return factory


def _round(arg: Any) -> Transform:
    places = 2 if arg is None else arg
    if isinstance(places, bool) or not isinstance(places, int) or not 0 <= places <= 10:
        raise TransformSpecError("round takes the number of decimals (0–10), e.g. {round: 0}")
    quantum = Decimal(1).scaleb(-places)

    def apply(value: Any) -> Any:
        if is_empty(value):
            return None
        if isinstance(value, list):
            return [apply(v) for v in value if not is_empty(v)]
        number = number_of(value)
        if number is None:
            raise TransformError(f"round: {to_text(value)!r} is not a number")
        return number.quantize(quantum, rounding=ROUND_HALF_UP)

    return apply


def _price(arg: Any) -> Transform:
    if arg is not None:
        raise TransformSpecError("transform price takes no argument (write just `price`)")

    def apply(value: Any) -> Any:
        if value.__class__ is str:  # the hot path: straight to the cached parser
            return price_text(value)
        if value.__class__ is list:
            out = []
            for item in value:
                price = price_text(item) if item.__class__ is str else format_price(item)
                if price is not None:
                    out.append(price)
            return out
        return format_price(value)

    return apply


def _bool(arg: Any) -> Transform:
    if arg is not None:
        raise TransformSpecError("transform bool takes no argument; use map for other words")

    def apply(value: Any) -> Any:
        if isinstance(value, bool) or value is None:
            return value
        if isinstance(value, list):
            return [apply(v) for v in value]
        text = to_text(value).strip()
        return parse_flag(text) if text else None

    return apply


def _split(arg: Any) -> Transform:
    separator = "," if arg is None else arg
    if not isinstance(separator, str) or not separator:
        raise TransformSpecError('split takes a separator, e.g. {split: "|"}')

    def apply(value: Any) -> Any:
        if value is None:
            return None
        if value.__class__ is str:
            return [p for p in map(str.strip, value.split(separator)) if p]
        out: list[str] = []
        for item in value if isinstance(value, list) else [value]:
            out.extend(p for p in map(str.strip, to_text(item).split(separator)) if p)
        return out

    return apply


def _join(arg: Any) -> Transform:
    separator = ", " if arg is None else arg
    if not isinstance(separator, str):
        raise TransformSpecError('join takes a separator, e.g. {join: " / "}')

    def apply(value: Any) -> Any:
        if isinstance(value, list):
            return separator.join(t for t in (to_text(v) for v in value) if t.strip())
        return value

    return apply


def _map(arg: Any) -> Transform:
    if not isinstance(arg, dict) or not arg:
        raise TransformSpecError("map needs a table, e.g. {map: {yes: instock, no: outofstock}}")
    text_table: dict[str, Any] = {}
    flag_table: dict[bool, Any] = {}
    fallback: Any = _MISSING
    for key, target in arg.items():
        if key == "*":
            fallback = target
        elif isinstance(key, bool):  # YAML reads yes/no/true/false keys as booleans
            flag_table[key] = target
        else:
            text_table[str(key).strip().casefold()] = target

    def lookup(value: Any) -> Any:
        if isinstance(value, bool):
            if value in flag_table:
                return flag_table[value]
            text = "true" if value else "false"
        else:
            text = to_text(value).strip()
        hit = text_table.get(text.casefold(), _MISSING)
        if hit is _MISSING and flag_table and text:
            flag = parse_flag(text)
            if flag is not None:
                hit = flag_table.get(flag, _MISSING)
        if hit is _MISSING:
            return value if fallback is _MISSING else fallback
        return hit

    def apply(value: Any) -> Any:
        if value is None:
            return None if fallback is _MISSING else fallback
        if isinstance(value, list):
            return [lookup(v) for v in value]
        return lookup(value)

    return apply


_MISSING = object()


def _default(arg: Any) -> Transform:
    if arg is None:
        raise TransformSpecError("default needs a value, e.g. {default: 'Buy now'}")

    def apply(value: Any) -> Any:
        return arg if is_empty(value) else value

    return apply


def _first_non_empty(arg: Any) -> Transform:
    if arg is not None:
        raise TransformSpecError(
            "first_non_empty takes no argument; list the fields in `from: [a, b]`")

    def apply(value: Any) -> Any:
        if value.__class__ is list:
            for item in value:
                if item.__class__ is str:
                    if item and not item.isspace():
                        return item
                elif not is_empty(item):
                    return item
            return None
        return None if is_empty(value) else value

    return apply


BUILTIN: dict[str, Factory] = {
    "trim": _no_arg("trim", str.strip),
    "lower": _no_arg("lower", str.lower),
    "upper": _no_arg("upper", str.upper),
    "title": _no_arg("title", title_case),
    "strip_html": _no_arg("strip_html", strip_html),
    "html_to_text": _no_arg("html_to_text", html_to_text),
    "slug": _no_arg("slug", slugify),
    "truncate": _truncate,
    "replace": _replace,
    "regex_extract": _regex_extract,
    "price": _price,
    "multiply": _arith("multiply", lambda a, b: a * b),
    "add": _arith("add", lambda a, b: a + b),
    "round": _round,
    "bool": _bool,
    "split": _split,
    "join": _join,
    "map": _map,
    "default": _default,
    "first_non_empty": _first_non_empty,
}

NEVER_RAISE = frozenset(BUILTIN) - {"multiply", "add", "round", "regex_extract"}
"""Built-in transforms that accept any value and never raise. A mapping made only of these
cannot fail a record, so a dry run may leave it unevaluated for products it would create (see
`engine.process_record`). The others reject values that are not numbers, or a named group a
match lacks; plugins are never assumed safe."""
