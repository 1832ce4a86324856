"""The SKU: a template that identifies a product across runs and sites.

Every placeholder must have a value: `hemtex-{merchant_product_id}` without an id would
otherwise render `hemtex-`, and every such record would collide on one product. Runs of
whitespace inside the rendered SKU are collapsed because stores compare SKUs loosely
(case-insensitively, see wc-api.md §11) and a stray space would be a different ledger key.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from elementafeeds.rules.paths import is_empty, plain_key
from elementafeeds.rules.templates import compile_template

_SPACES = re.compile(r"\s+")
MAX_SKU_LENGTH = 100  # wc_product_meta_lookup.sku is VARCHAR(100)

SkuResult = tuple["str | None", "str | None"]
"""(sku, None) or (None, why there is no SKU)."""


def _finish(text: str) -> SkuResult:
    if " " in text or "\t" in text or "\n" in text:
        text = _SPACES.sub(" ", text)
    if not text:
        return None, "no SKU: the template rendered empty"
    if len(text) > MAX_SKU_LENGTH:
        return None, f"SKU longer than {MAX_SKU_LENGTH} characters: {text[:40]}…"
    return text, None


def compile_sku(template: str) -> Callable[[dict[str, Any]], SkuResult]:
    """A function giving `(sku, None)` for a record, or `(None, reason)`."""
    compiled = compile_template(template)
    fields = compiled.fields
    if len(fields) == 1 and plain_key(fields[0]) is not None:
        # the common "shop-{id}" form: one dict lookup, no template machinery
        key = fields[0]
        head, _, tail = template.partition("{" + key + "}")
        if "{" not in head + tail and "}" not in head + tail:
            head, tail = head.lstrip(), tail.rstrip()
            missing = f"no SKU: field {key} is empty"

            def sku_of_key(record: dict[str, Any]) -> SkuResult:
                value = record.get(key)
                if value.__class__ is not str:
                    if is_empty(value):
                        return None, missing
                    return _finish(compiled.render(record))
                value = value.strip()
                if not value:
                    return None, missing
                return _finish(head + value + tail)

            return sku_of_key

    getters = list(zip(fields, compiled.getters))
    render = compiled.render

    def sku_of(record: dict[str, Any]) -> SkuResult:
        for name, get in getters:
            if is_empty(get(record)):
                return None, f"no SKU: field {name} is empty"
        return _finish(render(record))

    return sku_of
