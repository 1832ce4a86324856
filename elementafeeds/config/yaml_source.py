"""Read YAML documents while remembering where every key stands, for `file:line` errors.

PyYAML composes a node tree that carries marks; we construct plain Python values from it and
keep, per document, a map from a key path (`("fields", "name")`) to its 1-based line.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from elementafeeds.errors import Problem

KeyPath = tuple[Any, ...]


@dataclass
class SourceDoc:
    """One YAML document: its data, its file, and the line of each key path."""

    data: Any
    file: str
    line: int
    lines: dict[KeyPath, int] = field(default_factory=dict)

    def line_of(self, path: KeyPath) -> int:
        """Line of the deepest prefix of `path` that exists in the document."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.line


class _Builder:
    def __init__(self, file: str) -> None:
        self.file = file
        self.constructor = yaml.SafeLoader("")
        self.problems: list[Problem] = []

    def build(self, node: yaml.Node, path: KeyPath, lines: dict[KeyPath, int]) -> Any:
        lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            self.constructor.flatten_mapping(node)
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self.constructor.construct_object(key_node, deep=True)
                if not isinstance(key, (str, int, float, bool)) or key is None:
                    key = str(key)
                key_line = key_node.start_mark.line + 1
                if key in result:
                    self.problems.append(
                        Problem(self.file, key_line, f"duplicate key '{key}'",
                                "a later key would silently replace the earlier one")
                    )
                lines[path + (key,)] = key_line
                result[key] = self.build(value_node, path + (key,), lines)
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, path + (i,), lines) for i, item in enumerate(node.value)]
        return self.constructor.construct_object(node, deep=True)


def read_documents(path: Path, display: str | None = None) -> tuple[list[SourceDoc], list[Problem]]:
    """All documents of one YAML file; syntax errors come back as problems with line/column."""
    name = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return [], [Problem(name, None, f"not UTF-8 text: {exc.reason}", "save the file as UTF-8")]
    except OSError as exc:
        return [], [Problem(name, None, f"cannot read the file: {exc.strerror}")]
    return parse_documents(text, name)


def parse_documents(text: str, name: str) -> tuple[list[SourceDoc], list[Problem]]:
    builder = _Builder(name)
    docs: list[SourceDoc] = []
    try:
        for node in _compose_all(text):
            if node is None:
                continue
            lines: dict[KeyPath, int] = {}
            data = builder.build(node, (), lines)
            docs.append(SourceDoc(data, name, node.start_mark.line + 1, lines))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        message = f"YAML syntax error: {exc.problem or exc.context}"
        builder.problems.append(
            Problem(name, line, message, "check indentation, colons and quotes", column)
        )
    except yaml.YAMLError as exc:
        builder.problems.append(Problem(name, None, f"YAML error: {exc}"))
    return docs, builder.problems


def _compose_all(text: str) -> Iterator[yaml.Node | None]:
    loader = yaml.SafeLoader(text)
    try:
        while loader.check_node():
            yield loader.get_node()
    finally:
        loader.dispose()
