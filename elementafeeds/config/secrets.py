"""Resolve `${ENV_VAR}` references only when a site or feed is contacted.

The resolved values live in memory only; error messages name the variable, never its value.
"""

from __future__ import annotations

import os
import re

from elementafeeds.errors import ConfigError, Problem

_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def resolve(text: str, what: str) -> str:
    """Replace every `${NAME}` in `text` with the environment's value; missing → ConfigError."""

    def lookup(match: re.Match[str]) -> str:
        name = match.group(1)
        value = os.environ.get(name)
        if value is None:
            raise ConfigError(
                [Problem("<environment>", None, f"{what}: environment variable {name} is not set",
                         f"export {name}=… before running ef (it is never written in YAML)")]
            )
        return value

    return _REF.sub(lookup, text)


def resolve_all(values: dict[str, str], what: str) -> dict[str, str]:
    return {key: resolve(value, f"{what}.{key}") for key, value in values.items()}


def secret_values(values: dict[str, str]) -> list[str]:
    """The resolved secrets that are set, for scrubbing them from any text we emit."""
    out = []
    for ref in values.values():
        for name in _REF.findall(ref):
            value = os.environ.get(name)
            if value and len(value) >= 4:
                out.append(value)
    return out
