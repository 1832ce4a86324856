"""Templates such as `"{brand_name} {product_name}"`, compiled once into a render function.

Placeholders hold field paths (see `paths.py`), so `{g:price}` and `{variants[0].size}` work;
that is why we parse braces ourselves instead of using `str.format`, which would read `g:price`
as a field with a format spec. `{{` and `}}` are literal braces. A missing field renders as
empty text; each value and the result are stripped, so `"{brand} {name}"` without a brand is
just the name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from elementafeeds.rules.paths import (
    Getter,
    PathError,
    compile_path,
    is_empty,
    plain_key,
    to_text,
)


class TemplateError(ValueError):
    """A template that cannot be parsed (unbalanced braces, empty or bad placeholder)."""


@dataclass(frozen=True)
class Template:
    """A compiled template. `render` gives text; `bare` is set for a lone `{path}`."""

    source: str
    fields: tuple[str, ...]
    render: Callable[[dict[str, Any]], str]
    getters: tuple[Getter, ...] = ()
    bare: Getter | None = None
    """For a template that is exactly one placeholder: the raw getter (keeps lists)."""

    def missing(self, record: dict[str, Any]) -> list[str]:
        """The placeholders that are empty in `record` (used by SKUs, which need them all)."""
        return [f for f, get in zip(self.fields, self.getters) if is_empty(get(record))]


def parse_template(source: str) -> list[tuple[str, str]]:
    """Split into ("text", literal) and ("field", path) parts; raise TemplateError."""
    parts: list[tuple[str, str]] = []
    literal: list[str] = []
    i, n = 0, len(source)
    while i < n:
        ch = source[i]
        if ch == "{":
            if source.startswith("{{", i):
                literal.append("{")
                i += 2
                continue
            end = source.find("}", i + 1)
            nested = source.find("{", i + 1)
            if end < 0 or (0 <= nested < end):
                raise TemplateError(
                    f"unclosed '{{' at position {i + 1} in template {source!r} "
                    "(write {{ for a literal brace)"
                )
            name = source[i + 1:end].strip()
            if not name:
                raise TemplateError(f"empty placeholder {{}} in template {source!r}")
            if literal:
                parts.append(("text", "".join(literal)))
                literal = []
            parts.append(("field", name))
            i = end + 1
        elif ch == "}":
            if source.startswith("}}", i):
                literal.append("}")
                i += 2
                continue
            raise TemplateError(
                f"unmatched '}}' at position {i + 1} in template {source!r} "
                "(write }} for a literal brace)"
            )
        else:
            literal.append(ch)
            i += 1
    if literal:
        parts.append(("text", "".join(literal)))
    return parts


def compile_template(source: str) -> Template:
    """Compile `source`; raise TemplateError (bad braces) or PathError (bad placeholder)."""
    parts = parse_template(source)
    fields = tuple(p for kind, p in parts if kind == "field")
    try:
        getters = [compile_path(p) if kind == "field" else None for kind, p in parts]
    except PathError as exc:
        raise TemplateError(f"{exc} in template {source!r}") from None

    if not fields:
        text = "".join(p for _, p in parts).strip()

        def render_constant(record: dict[str, Any]) -> str:
            return text

        return Template(source, fields, render_constant)

    if len(parts) == 1:
        get = getters[0]
        assert get is not None
        key = plain_key(fields[0])
        if key is not None:

            def render_key(record: dict[str, Any]) -> str:
                value = record.get(key)
                if value.__class__ is str:
                    return value.strip()
                return to_text(value).strip()

            return Template(source, fields, render_key, (get,), bare=get)

        def render_one(record: dict[str, Any]) -> str:
            value = get(record)
            if value.__class__ is str:
                return value.strip()
            return to_text(value).strip()

        return Template(source, fields, render_one, (get,), bare=get)

    field_getters = tuple(g for g in getters if g is not None)
    if all(plain_key(f) is not None for f in fields):
        # CSV columns: `record.get` inline instead of a getter call per placeholder
        keyed: list[tuple[str, str | None]] = [
            (p, p if kind == "field" else None) for kind, p in parts]

        def render_keys(record: dict[str, Any]) -> str:
            out = []
            for text, key in keyed:
                if key is None:
                    out.append(text)
                else:
                    value = record.get(key)
                    out.append((value if value.__class__ is str else to_text(value)).strip())
            return "".join(out).strip()

        return Template(source, fields, render_keys, field_getters)

    plan: list[tuple[str, Getter | None]] = [
        (p, g) for (kind, p), g in zip(parts, getters)
    ]

    def render_many(record: dict[str, Any]) -> str:
        out = []
        for text, get in plan:
            if get is None:
                out.append(text)
            else:
                value = get(record)
                out.append((value if value.__class__ is str else to_text(value)).strip())
        return "".join(out).strip()

    return Template(source, fields, render_many, field_getters)
