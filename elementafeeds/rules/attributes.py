"""Product attributes from source fields or templates.

Each configured attribute becomes `{"name": …, "options": […], "visible": …}` in the payload;
the destination layer maps the name to a global attribute of the live site when one exists
and sends a local (custom) attribute otherwise. A `|` inside a value would split it on the
site (custom attributes are stored `|`-joined), so it is replaced by `/`. Attributes without
any value are left out: WooCommerce drops a global attribute without options anyway.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from elementafeeds.config.models import Attribute
from elementafeeds.rules.paths import PathError, compile_path, to_text
from elementafeeds.rules.templates import TemplateError, compile_template

Build = Callable[[dict[str, Any]], list[dict[str, Any]]]


class AttributeSpecError(ValueError):
    """An attribute whose source cannot compile; `index` and `key` locate it."""

    def __init__(self, message: str, index: int, key: str) -> None:
        super().__init__(message)
        self.index = index
        self.key = key


def compile_attributes(attributes: Sequence[Attribute]) -> Build | None:
    """A function giving the attribute list of a record; None when none are configured."""
    plan: list[tuple[str, Callable[[dict[str, Any]], Any], str | None, bool]] = []
    for i, attr in enumerate(attributes):
        if attr.from_ is not None:
            try:
                get = compile_path(attr.from_)
            except PathError as exc:
                raise AttributeSpecError(str(exc), i, "from") from None
        else:
            assert attr.template is not None
            try:
                template = compile_template(attr.template)
            except (TemplateError, PathError) as exc:
                raise AttributeSpecError(str(exc), i, "template") from None
            get = template.bare or template.render
        plan.append((attr.name, get, attr.split, attr.visible))
    if not plan:
        return None

    def build(record: dict[str, Any]) -> list[dict[str, Any]]:
        out = []
        for name, get, split, visible in plan:
            value = get(record)
            if value.__class__ is str and "|" not in value:  # the hot path: plain text
                if not split:
                    value = value.strip()
                    if value:
                        out.append({"name": name, "options": [value], "visible": visible})
                    continue
                options = []  # _options inline: no `|` to replace
                for part in value.split(split):
                    part = part.strip()
                    if part and part not in options:
                        options.append(part)
            else:
                options = _options(value, split)
            if options:
                out.append({"name": name, "options": options, "visible": visible})
        return out

    return build


def _options(value: Any, split: str | None) -> list[str]:
    if value.__class__ is str:
        if not split:
            text = value.strip()
            return [text.replace("|", "/")] if text else []
        items: list[Any] = [value]
    elif value is None:
        return []
    else:
        items = value if isinstance(value, list) else [value]
    out: list[str] = []
    for item in items:
        text = to_text(item)
        parts = text.split(split) if split else [text]
        for part in parts:
            part = part.strip().replace("|", "/")
            if part and part not in out:
                out.append(part)
    return out
