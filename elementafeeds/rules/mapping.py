"""Field mappings compiled into `record -> value` functions.

The configuration allows four forms (see `config.models.FieldMapping`): a template string, a
constant, `{from | template | value, transform, default}`, and a list of the first three for
multi-valued fields such as images. Each compiles once; compile errors carry the key path
inside the mapping (`("transform", 1)`) so checks can point at the exact YAML line.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from elementafeeds.config.models import FieldSource
from elementafeeds.rules.paths import PathError, compile_path, is_empty, plain_key
from elementafeeds.rules.registry import compile_chain, compile_transform
from elementafeeds.rules.templates import TemplateError, compile_template, parse_template
from elementafeeds.rules.transforms import NEVER_RAISE, TransformSpecError

Mapper = Callable[[dict[str, Any]], Any]


class MappingError(ValueError):
    """A mapping that cannot compile; `where` is the key path inside the mapping."""

    def __init__(self, message: str, where: tuple[Any, ...] = (), hint: str | None = None):
        super().__init__(message)
        self.where = where
        self.hint = hint


def compile_mapping(mapping: Any) -> Mapper:
    """Compile any FieldMapping form; raise MappingError with its location."""
    if isinstance(mapping, str):
        return _template_mapper(mapping, ())
    if isinstance(mapping, FieldSource):
        return _source_mapper(mapping, ())
    if isinstance(mapping, list):
        items = []
        for i, item in enumerate(mapping):
            if isinstance(item, str):
                items.append(_template_mapper(item, (i,)))
            else:
                items.append(_source_mapper(item, (i,)))
        keys = [_lone_key(item) if isinstance(item, str) else None for item in mapping]
        if keys and all(k is not None for k in keys):
            return _keys_mapper([k for k in keys if k is not None])
        return _list_mapper(items)
    constant = mapping

    def constant_mapper(record: dict[str, Any]) -> Any:
        return constant

    return constant_mapper


def can_fail(mapping: Any) -> bool:
    """Whether a compiled mapping may raise for some record: only through a transform outside
    `NEVER_RAISE` (getters, templates and constants take any record)."""
    if isinstance(mapping, list):
        return any(can_fail(item) for item in mapping)
    if isinstance(mapping, FieldSource):
        return any(_transform_name(spec) not in NEVER_RAISE for spec in mapping.transform)
    return False


def read_paths(mapping: Any) -> list[str]:
    """The record paths a mapping reads (its `from`s and template placeholders)."""
    if isinstance(mapping, list):
        return [path for item in mapping for path in read_paths(item)]
    if isinstance(mapping, str):
        return template_paths(mapping)
    if isinstance(mapping, FieldSource):
        if mapping.from_ is not None:
            return list(mapping.from_) if isinstance(mapping.from_, list) else [mapping.from_]
        if mapping.template is not None:
            return template_paths(mapping.template)
    return []


def template_paths(source: str) -> list[str]:
    return [path for kind, path in parse_template(source) if kind == "field"]


def _transform_name(spec: Any) -> str | None:
    if isinstance(spec, str):
        return spec.strip()
    if isinstance(spec, dict) and len(spec) == 1:
        return str(next(iter(spec)))
    return None


def _template_mapper(source: str, where: tuple[Any, ...]) -> Mapper:
    try:
        template = compile_template(source)
    except (TemplateError, PathError) as exc:
        raise MappingError(str(exc), where) from None
    return template.bare or template.render


def _source_mapper(source: FieldSource, where: tuple[Any, ...]) -> Mapper:
    base: Mapper
    if source.from_ is not None:
        paths = source.from_ if isinstance(source.from_, list) else [source.from_]
        getters = []
        for i, path in enumerate(paths):
            try:
                getters.append(compile_path(path))
            except PathError as exc:
                loc = ("from", i) if isinstance(source.from_, list) else ("from",)
                raise MappingError(str(exc), where + loc) from None
        if isinstance(source.from_, list):
            keys = [plain_key(p) for p in paths]
            if all(k is not None for k in keys):
                fixed = tuple(keys)

                def base(record: dict[str, Any]) -> Any:
                    out: list[Any] = []
                    for key in fixed:
                        value = record.get(key)
                        if value.__class__ is list:
                            out.extend(value)
                        else:
                            out.append(value)
                    return out
            else:
                base = _list_mapper(getters, keep_empty=True)
        else:
            base = getters[0]
    elif source.template is not None:
        base = _template_mapper(source.template, where + ("template",))
    else:
        constant = source.value

        def base(record: dict[str, Any]) -> Any:
            return constant

    chain = _chain(source.transform, where)
    default = source.default
    if chain is None and default is None:
        return base
    key = plain_key(source.from_) if isinstance(source.from_, str) else None
    if default is None:
        assert chain is not None
        if key is not None:
            return lambda record: chain(record.get(key))
        return lambda record: chain(base(record))

    def with_default(record: dict[str, Any]) -> Any:
        value = base(record)
        if chain is not None:
            value = chain(value)
        return default if is_empty(value) else value

    return with_default


def _chain(specs: list[Any], where: tuple[Any, ...]) -> Any:
    for i, spec in enumerate(specs):
        try:
            compile_transform(spec)
        except TransformSpecError as exc:
            raise MappingError(str(exc), where + ("transform", i), exc.hint) from None
    return compile_chain(specs)


def _lone_key(source: str) -> str | None:
    """The column of a template that is exactly one plain `{key}` (the `bare` getter's key)."""
    parts = parse_template(source)
    return plain_key(parts[0][1]) if len(parts) == 1 and parts[0][0] == "field" else None


def _keys_mapper(keys: list[str]) -> Mapper:
    """`_list_mapper` of plain-key templates (`["{image}", "{large_image}"]`), reading the
    record inline instead of calling a getter and `is_empty` per item."""

    def many_keys(record: dict[str, Any]) -> list[Any]:
        out: list[Any] = []
        for key in keys:
            value = record.get(key)
            if value.__class__ is str:
                if value and not value.isspace():  # not is_empty(value)
                    out.append(value)
            elif isinstance(value, list):
                out.extend(v for v in value if not is_empty(v))
            elif not is_empty(value):
                out.append(value)
        return out

    return many_keys


def _list_mapper(items: list[Mapper], keep_empty: bool = False) -> Mapper:
    """Values of several mappers as one list; nested lists flattened, empties dropped."""

    def many(record: dict[str, Any]) -> list[Any]:
        out: list[Any] = []
        for get in items:
            value = get(record)
            if isinstance(value, list):
                out.extend(v for v in value if keep_empty or not is_empty(v))
            elif keep_empty or not is_empty(value):
                out.append(value)
        return out

    return many
