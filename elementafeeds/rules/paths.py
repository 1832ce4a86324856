"""Field paths into records: `price`, `price.amount`, `variants[*].size`, `g:price`.

Records come from three readers: CSV rows are flat dicts of strings, JSON and XML records nest
dicts and lists. A path is compiled once into a getter so the per-record cost is one or two
dict lookups. A key that exists literally (a CSV column called `price.amount`, an XML element
`g:price`) always wins over the nested reading of the same text, so operators never have to
escape anything.

Grammar: segments separated by `.`; a segment is a key optionally followed by `[*]` (every
element of a list) or `[N]` (one element, negative counts from the end). Walking through a list
without `[*]` maps over its elements too, because XML readers turn a repeated element into a
list only when it repeats.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

Getter = Callable[[dict[str, Any]], Any]

_SEGMENT = re.compile(r"^([^\[\]]+)((?:\[(?:\*|-?\d+)\])*)$")
_INDEX = re.compile(r"\[(\*|-?\d+)\]")
_TEXT_KEYS = ("#text", "_text", "text", "value", "$")


class PathError(ValueError):
    """A path that cannot be parsed; the message says what is wrong with it."""


Step = tuple[str, Any]  # ("key", name) | ("all", None) | ("index", n)


def parse_path(path: str) -> list[Step]:
    """Split a path into steps; raise PathError for empty segments or bad brackets."""
    if not isinstance(path, str) or not path.strip():
        raise PathError("a field path must not be empty")
    steps: list[Step] = []
    for segment in path.split("."):
        match = _SEGMENT.match(segment)
        if not match:
            raise PathError(
                f"bad field path {path!r}: segment {segment!r} "
                "(use name, name[*] or name[0], separated by dots)"
            )
        steps.append(("key", match.group(1)))
        for index in _INDEX.findall(match.group(2)):
            steps.append(("all", None) if index == "*" else ("index", int(index)))
    return steps


def plain_key(path: str) -> str | None:
    """`path` itself when it is a plain key (no dots, no brackets), so hot loops can inline
    `record.get(key)` instead of calling a getter."""
    return path if "." not in path and "[" not in path and path.strip() else None


def compile_path(path: str) -> Getter:
    """A getter for `path`: returns the raw value, a list for fan-outs, or None when missing."""
    if "." not in path and "[" not in path:
        if not path.strip():
            raise PathError("a field path must not be empty")
        key = path

        def get_plain(record: dict[str, Any]) -> Any:
            return record.get(key)

        return get_plain

    steps = parse_path(path)
    fans_out = any(kind == "all" for kind, _ in steps)

    def get_nested(record: dict[str, Any]) -> Any:
        literal = record.get(path)
        if literal is not None:
            return literal
        return _walk(record, steps, fans_out)

    return get_nested


def _walk(record: Any, steps: list[Step], fans_out: bool) -> Any:
    current: list[Any] = [record]
    spread = fans_out
    for kind, arg in steps:
        nxt: list[Any] = []
        for item in current:
            if kind == "key":
                if isinstance(item, list):  # implicit map over a repeated element
                    spread = True
                    nxt.extend(x.get(arg) for x in item if isinstance(x, dict))
                elif isinstance(item, dict):
                    nxt.append(item.get(arg))
            elif kind == "all":
                if isinstance(item, list):
                    nxt.extend(item)
                elif item is not None:
                    nxt.append(item)
            else:
                if isinstance(item, list):
                    if -len(item) <= arg < len(item):
                        nxt.append(item[arg])
                elif arg in (0, -1) and item is not None:
                    nxt.append(item)  # a single XML element is a list of one
        current = [x for x in nxt if x is not None]
        if not current:
            return [] if spread else None
    if spread:
        flat: list[Any] = []
        for item in current:
            flat.extend(item) if isinstance(item, list) else flat.append(item)
        return flat
    return current[0] if len(current) == 1 else current


def to_text(value: Any) -> str:
    """The text of a record value: lists joined with ', ', XML element dicts by their text."""
    if value.__class__ is str:
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, Decimal)):
        return format(value, "f") if isinstance(value, Decimal) else str(value)
    if isinstance(value, list):
        return ", ".join(t for t in (to_text(v) for v in value) if t)
    if isinstance(value, dict):
        for key in _TEXT_KEYS:
            if key in value:
                return to_text(value[key])
        return ""
    return str(value)


def is_empty(value: Any) -> bool:
    """None, blank text, and lists of only empty values are empty."""
    if value is None:
        return True
    if value.__class__ is str:
        return not value.strip()
    if isinstance(value, list):
        return all(is_empty(v) for v in value)
    if isinstance(value, dict):
        return not to_text(value).strip()
    return False
