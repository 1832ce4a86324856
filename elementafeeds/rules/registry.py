"""Finding transforms by name and compiling a mapping's transform list into one function.

Built-in transforms live in `transforms.py`. Third-party ones register under the entry-point
group `elementafeeds.transforms`; entry points are only read when a name is not built in, so
`ef --help` and runs without plugins import none.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from elementafeeds.rules.transforms import (
    BUILTIN,
    ENTRY_POINT_GROUP,
    Factory,
    Transform,
    TransformSpecError,
)


@cache
def _plugin_factories() -> dict[str, Any]:
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def known_transforms() -> list[str]:
    """Every transform name: built-in, then those registered by installed plugins."""
    return [*BUILTIN, *sorted(n for n in _plugin_factories() if n not in BUILTIN)]


def find_factory(name: str) -> Factory:
    """The factory of a transform name; raise TransformSpecError naming close matches."""
    factory = BUILTIN.get(name)
    if factory is not None:
        return factory
    entry = _plugin_factories().get(name)
    if entry is not None:
        try:
            return entry.load()
        except Exception as exc:  # a broken plugin is a configuration problem, not a crash
            raise TransformSpecError(f"transform {name!r} could not be loaded: {exc}") from exc
    import difflib

    close = difflib.get_close_matches(name, known_transforms(), n=1, cutoff=0.6)
    raise TransformSpecError(
        f"unknown transform {name!r}",
        f"did you mean '{close[0]}'?" if close else f"known: {', '.join(known_transforms())}",
    )


def compile_transform(spec: Any) -> Transform:
    """One transform from its YAML form: `name` or `{name: argument}`."""
    if isinstance(spec, str):
        name, arg = spec.strip(), None
    elif isinstance(spec, dict) and len(spec) == 1:
        name, arg = next(iter(spec.items()))
        name = str(name)
    else:
        raise TransformSpecError(
            "a transform is a name (trim) or a mapping with one key ({truncate: 120})")
    factory = find_factory(name)
    try:
        return factory(arg)
    except TransformSpecError:
        raise
    except (ValueError, TypeError) as exc:
        raise TransformSpecError(f"transform {name}: {exc}") from exc


def compile_chain(specs: list[Any]) -> Transform | None:
    """All transforms of a mapping as one function (None when there are none). Chains of
    two or three are unrolled: a loop costs more than the transforms of a short field."""
    steps = [compile_transform(s) for s in specs]
    if not steps:
        return None
    if len(steps) == 1:
        return steps[0]
    if len(steps) == 2:
        first, second = steps
        return lambda value: second(first(value))
    if len(steps) == 3:
        first, second, third = steps
        return lambda value: third(second(first(value)))

    def chain(value: Any) -> Any:
        for step in steps:
            value = step(value)
        return value

    return chain
