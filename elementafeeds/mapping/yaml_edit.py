"""Merge accepted mapping suggestions into a connection's YAML file, touching nothing else.

Operators keep their connections in git and comment them, so an edit must change exactly the
lines it adds. ruamel.yaml's round trip keeps comments and key order, but it re-emits the
whole document in one indentation style and hangs new entries after the trailing comments of
the previous one. So the document is emitted twice — as loaded (R0) and as changed (R1) — and
only the R0→R1 difference is spliced into the original text, re-indented to the lines around
it; an insertion is placed above comment lines that belong to an outer level (a comment that
introduces the next top-level key stays in front of that key). The result is parsed again and
must equal R1's data; if it does not, R1 itself is used (comments are still kept).

Only the connection's own document is edited; the others of a multi-document file, the `---`
markers, a BOM and CRLF line endings are kept byte for byte. Existing entries are never
replaced unless `overwrite` is set.
"""

from __future__ import annotations

import difflib
import io
import itertools
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml as pyyaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from elementafeeds.errors import ConfigError, Problem, UsageError
from elementafeeds.mapping.yaml_splice import splice
from elementafeeds.rules.categories import split_path

TOP_LEVEL_ORDER = (
    "kind", "name", "feed", "site", "product_type", "post_type", "enabled", "schedule",
    "filters", "sku", "fields", "categories", "attributes", "update", "stale", "content",
)
"""Where a new top-level key goes: after the last existing key that precedes it here."""
CATEGORY_ORDER = ("source", "delimiter", "map", "unmapped", "default")

_MARKER = re.compile(r"^(---|\.\.\.)(\s.*)?$")
_SPACE = re.compile(r"\s+")
_PLAIN = re.compile(r"[^\W\d][\w.:/>&()' -]*(?<![ :])")
"""Text written without quotes (names, paths, columns); anything else is double-quoted."""
_YAML11_WORDS = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null"})
"""Words PyYAML (YAML 1.1, which the loader uses) would read as booleans or null."""


@dataclass(frozen=True)
class Changes:
    """What to merge into the connection. Mappings are plain data as they would be written."""

    delimiter: str = " > "
    """The connection's effective delimiter: decides whether two map keys are the same path."""
    category_keys: dict[str, Any] = field(default_factory=dict)
    """`categories.source` / `categories.delimiter`, when they were suggested."""
    category_map: dict[str, list[str | int]] = field(default_factory=dict)
    fields: dict[str, Any] = field(default_factory=dict)
    attributes: list[dict[str, Any]] = field(default_factory=list)
    inherited_attributes: list[dict[str, Any]] = field(default_factory=list)
    """The preset's attributes: written first when the connection gets its own `attributes:`
    list, because that list replaces the preset's (the run would lose them otherwise)."""

    def is_empty(self) -> bool:
        return not (self.category_keys or self.category_map or self.fields or self.attributes)


@dataclass
class YamlEdit:
    """The file before and after; what was added, kept (already there) and replaced."""

    file: Path
    display: str
    old_text: str
    new_text: str
    added: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    raw: bytes = b""

    @property
    def changed(self) -> bool:
        return self.old_text != self.new_text

    @property
    def diff(self) -> str:
        return "".join(difflib.unified_diff(
            self.old_text.splitlines(keepends=True), self.new_text.splitlines(keepends=True),
            fromfile=f"a/{self.display}", tofile=f"b/{self.display}"))

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.display, "changed": self.changed, "diff": self.diff,
                "added": self.added, "kept": self.kept, "replaced": self.replaced}


# ---------------------------------------------------------------------------------------------
# public functions


def plan_edit(file: Path, display: str, connection: str, changes: Changes,
              overwrite: bool = False) -> YamlEdit:
    """The edit of `file` that merges `changes` into connection `connection` (not written)."""
    raw = file.read_bytes()
    text, bom, crlf = _decode(raw, display)
    lines = text.splitlines(keepends=True)
    start, end = _find_document(lines, connection, display)
    chunk = "".join(lines[start:end])
    edit = YamlEdit(file, display, text, text, raw=raw)
    new_chunk = _edit_chunk(chunk, changes, overwrite, edit)
    edit.new_text = "".join(lines[:start]) + new_chunk + "".join(lines[end:])
    edit.old_text, edit.new_text = _encode_view(text, crlf), _encode_view(edit.new_text, crlf)
    edit.old_text = bom + edit.old_text
    edit.new_text = bom + edit.new_text
    return edit


def save_edit(edit: YamlEdit) -> None:
    """Write the edit atomically; refuse when the file changed since it was read."""
    if not edit.changed:
        return
    if edit.file.read_bytes() != edit.raw:
        raise UsageError(f"{edit.display} changed while ef map was working; nothing written",
                         hint="run ef map again")
    mode = edit.file.stat().st_mode
    fd, tmp = tempfile.mkstemp(prefix=f".{edit.file.name}.", dir=edit.file.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(edit.new_text.encode("utf-8"))
        os.chmod(tmp, mode & 0o7777)
        os.replace(tmp, edit.file)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def render_snippet(changes: Changes, notes: dict[tuple[str, str], str] | None = None) -> str:
    """The changes as a YAML fragment to paste into the connection, with `# notes`.

    `notes` maps ("categories.map" | "fields" | "attributes", key) to an end-of-line comment.
    """
    notes = notes or {}
    doc = CommentedMap()
    if changes.category_keys or changes.category_map:
        cats = doc.setdefault("categories", CommentedMap())
        for key, value in changes.category_keys.items():
            cats[key] = _node(value)
        if changes.category_map:
            cmap = cats.setdefault("map", CommentedMap())
            for path, targets in changes.category_map.items():
                key = DoubleQuotedScalarString(path)
                cmap[key] = _node(list(targets))
                _note(cmap, key, notes.get(("categories.map", path)))
    if changes.fields:
        fields = doc.setdefault("fields", CommentedMap())
        for dest, mapping in changes.fields.items():
            fields[dest] = _node(mapping, top=True)
            _note(fields, dest, notes.get(("fields", dest)))
    if changes.attributes:
        seq = doc.setdefault("attributes", CommentedSeq())
        for entry in changes.attributes:
            seq.append(_node(entry))
            _note(seq, len(seq) - 1, notes.get(("attributes", str(entry.get("name")))))
    if not doc:
        return ""
    return _align_notes(_dump(_yaml(2, 4, 2), doc), set(notes.values()))


# ---------------------------------------------------------------------------------------------
# the document


def _decode(raw: bytes, display: str) -> tuple[str, str, bool]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError([Problem(display, None, f"not UTF-8 text: {exc.reason}")]) from None
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    text = text[len(bom):]
    crlf = "\r\n" in text
    return text.replace("\r\n", "\n"), bom, crlf


def _encode_view(text: str, crlf: bool) -> str:
    return text.replace("\n", "\r\n") if crlf else text


def _find_document(lines: list[str], name: str, display: str) -> tuple[int, int]:
    """Line range [start, end) of the connection's document, between `---` markers."""
    bounds, start = [], 0
    for i, line in enumerate(lines):
        if _MARKER.match(line.rstrip("\n")):
            bounds.append((start, i))
            start = i + 1
    bounds.append((start, len(lines)))
    for begin, end in bounds:
        try:
            data = pyyaml.safe_load("".join(lines[begin:end]))
        except pyyaml.YAMLError:
            continue
        if isinstance(data, dict) and data.get("kind") == "connection" and \
                data.get("name") == name:
            return begin, end
    raise ConfigError([Problem(display, None, f"connection '{name}' not found in the file",
                               "was the file changed while ef map ran?")])


def _edit_chunk(chunk: str, changes: Changes, overwrite: bool, edit: YamlEdit) -> str:
    if not chunk.endswith("\n"):
        chunk += "\n"
    mapping, sequence, offset = _detect_indent(chunk)
    rt = _yaml(mapping, sequence, offset)
    data = rt.load(chunk)
    before = _dump(rt, data)
    _apply(data, changes, overwrite, edit)
    after = _dump(rt, data)
    if before == after:
        return chunk
    expected = pyyaml.safe_load(after)
    spliced = splice(chunk, before, after)
    if spliced is not None:
        try:
            if pyyaml.safe_load(spliced) == expected:
                return spliced
        except pyyaml.YAMLError:
            pass
    return after


def _yaml(mapping: int, sequence: int, offset: int) -> YAML:
    rt = YAML(typ="rt")
    rt.preserve_quotes = True
    rt.width = 4096
    rt.indent(mapping=mapping, sequence=sequence, offset=offset)
    return rt


def _dump(rt: YAML, data: Any) -> str:
    out = io.StringIO()
    rt.dump(data, out)
    return out.getvalue()


def _detect_indent(text: str) -> tuple[int, int, int]:
    """(mapping, sequence, offset) as ruamel names them, read from the document's own
    nesting; defaults are the documentation's style (`attributes:\\n  - {…}`)."""
    mapping = offset = None
    rows = [(len(line) - len(line.lstrip(" ")), line.strip()) for line in text.splitlines()]
    rows = [(i, s) for i, s in rows if s and not s.startswith("#")]
    for (indent, text_), (child, child_text) in itertools.pairwise(rows):
        if not text_.endswith(":") or child <= indent and not child_text.startswith("- "):
            continue
        if child_text.startswith("- "):
            offset = child - indent if offset is None else offset
        elif child > indent and mapping is None:
            mapping = child - indent
    mapping = mapping or 2
    offset = 2 if offset is None else offset
    return mapping, offset + 2, offset


# ---------------------------------------------------------------------------------------------
# applying the changes to ruamel's tree


def _apply(doc: Any, changes: Changes, overwrite: bool, edit: YamlEdit) -> None:
    if not isinstance(doc, CommentedMap):
        raise UsageError("the connection document is not a mapping")
    if changes.category_keys or changes.category_map:
        cats = _container(doc, "categories", CommentedMap, TOP_LEVEL_ORDER)
        for key, value in changes.category_keys.items():
            label = f"categories.{key}"
            if key in cats and cats[key] is not None and not overwrite:
                edit.kept.append(label)
                continue
            (edit.replaced if key in cats else edit.added).append(label)
            _put(cats, key, _node(value), CATEGORY_ORDER)
        if changes.category_map:
            cmap = _container(cats, "map", CommentedMap, CATEGORY_ORDER)
            have = {_path_key(str(k), changes.delimiter): k for k in cmap}
            for path, targets in changes.category_map.items():
                label = f"categories.map[{path!r}]"
                existing = have.get(_path_key(path, changes.delimiter))
                if existing is None:
                    cmap[DoubleQuotedScalarString(path)] = _node(list(targets))
                    edit.added.append(label)
                elif overwrite:
                    cmap[existing] = _node(list(targets))
                    edit.replaced.append(label)
                else:
                    edit.kept.append(label)
    if changes.fields:
        fields = _container(doc, "fields", CommentedMap, TOP_LEVEL_ORDER)
        for dest, mapping in changes.fields.items():
            label = f"fields.{dest}"
            if dest in fields and not overwrite:
                edit.kept.append(label)
                continue
            (edit.replaced if dest in fields else edit.added).append(label)
            fields[dest] = _node(mapping, top=True)
    if changes.attributes:
        fresh = "attributes" not in doc or doc["attributes"] is None
        seq = _container(doc, "attributes", CommentedSeq, TOP_LEVEL_ORDER)
        if fresh:
            for entry in changes.inherited_attributes:
                seq.append(_node(entry))
        names = {str(e.get("name", "")).casefold(): i for i, e in enumerate(seq)
                 if isinstance(e, dict)}
        for entry in changes.attributes:
            label = f"attributes[{entry.get('name')}]"
            index = names.get(str(entry.get("name", "")).casefold())
            if index is None:
                seq.append(_node(entry))
                names[str(entry.get("name", "")).casefold()] = len(seq) - 1
                edit.added.append(label)
            elif overwrite:
                seq[index] = _node(entry)
                edit.replaced.append(label)
            else:
                edit.kept.append(label)


def _container(parent: CommentedMap, key: str, kind: Callable[[], Any],
               order: tuple[str, ...]) -> Any:
    node = parent.get(key)
    if isinstance(node, (CommentedMap, CommentedSeq)):
        if not node and node.fa.flow_style():
            node.fa.set_block_style()  # `fields: {}` becomes a block to add lines to
        return node
    node = kind()
    _put(parent, key, node, order)
    return node


def _put(parent: CommentedMap, key: str, value: Any, order: tuple[str, ...]) -> None:
    """Set `key`, keeping its place if present, else after its predecessors in `order`."""
    if key in parent:
        parent[key] = value
        return
    if key not in order:
        parent[key] = value
        return
    rank = order.index(key)
    position = 0
    for i, existing in enumerate(parent):
        if existing in order and order.index(existing) < rank:
            position = i + 1
    parent.insert(position, key, value)


def _node(value: Any, top: bool = False) -> Any:
    """Plain data as ruamel nodes in the documentation's style: templates double-quoted,
    mappings and lists inside a field in flow style (`{from: x, transform: [price]}`)."""
    if isinstance(value, dict):
        node = CommentedMap((k, _node(v)) for k, v in value.items())
        node.fa.set_flow_style()
        return node
    if isinstance(value, (list, tuple)):
        seq = CommentedSeq(_node(v) for v in value)
        seq.fa.set_flow_style()
        return seq
    if isinstance(value, str) and (top or not _PLAIN.fullmatch(value)
                                   or value.lower() in _YAML11_WORDS):
        return DoubleQuotedScalarString(value)
    return value


def _align_notes(text: str, notes: set[str]) -> str:
    """Line the `# notes` up in one column (ruamel places each after its own line)."""
    rows = []
    for line in text.splitlines():
        code, sep, note = line.rpartition(" # ")
        rows.append((code.rstrip(), note) if sep and note in notes else (line, None))
    width = max((len(code) for code, note in rows if note is not None), default=0)
    return "".join(f"{code.ljust(width)}  # {note}\n" if note is not None else f"{code}\n"
                   for code, note in rows)


def _note(container: Any, key: Any, text: str | None) -> None:
    if text:
        container.yaml_add_eol_comment(text, key)


def _path_key(path: str, delimiter: str) -> tuple[str, ...]:
    """The comparison form of a category path: levels without case or runs of spaces."""
    return tuple(_SPACE.sub(" ", level).casefold() for level in split_path(path, delimiter))
