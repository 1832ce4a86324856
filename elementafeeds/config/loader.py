"""Load a workspace: every YAML document validated, every problem reported in one pass.

Documents live in `connections/**/*.yaml|yml` (several per file, `---` separated); presets
overrides in `presets/`. Problems come back as `Problem(file, line, message, hint)` so the
operator sees `connections/a.yaml:12: unknown key 'filtres' (did you mean 'filters'?)`.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from elementafeeds.config.models import Connection, Feed, Network, Site
from elementafeeds.config.settings import WorkspaceSettings, state_db_path
from elementafeeds.config.yaml_source import SourceDoc, read_documents
from elementafeeds.errors import ConfigError, Problem

KINDS: dict[str, type[BaseModel]] = {
    "site": Site,
    "feed": Feed,
    "network": Network,
    "connection": Connection,
}
ALL_KINDS = (*KINDS, "preset")


@dataclass
class Workspace:
    """A validated workspace. Documents by kind and name; `sources` locate them in files."""

    root: Path
    settings: WorkspaceSettings
    sites: dict[str, Site] = field(default_factory=dict)
    feeds: dict[str, Feed] = field(default_factory=dict)
    networks: dict[str, Network] = field(default_factory=dict)
    connections: dict[str, Connection] = field(default_factory=dict)
    presets: dict[str, SourceDoc] = field(default_factory=dict)
    """Workspace preset documents, validated by the rules layer that owns presets."""
    sources: dict[tuple[str, str], SourceDoc] = field(default_factory=dict)

    @property
    def state_path(self) -> Path:
        return state_db_path(self.root, self.settings)

    @property
    def state_dir(self) -> Path:
        return self.state_path.parent

    def source(self, kind: str, name: str) -> SourceDoc | None:
        return self.sources.get((kind, name))

    def problem(self, kind: str, name: str, path: tuple[Any, ...], message: str,
                hint: str | None = None) -> Problem:
        """A problem located at `path` inside the named document."""
        doc = self.source(kind, name)
        if doc is None:
            return Problem("<workspace>", None, message, hint)
        return Problem(doc.file, doc.line_of(path), message, hint)

    def connection(self, name: str) -> Connection:
        if name not in self.connections:
            raise ConfigError(
                [Problem(str(self.root / "connections"), None, f"unknown connection '{name}'",
                         _did_you_mean(name, self.connections))]
            )
        return self.connections[name]

    def feed(self, name: str) -> Feed:
        if name not in self.feeds:
            raise ConfigError(
                [Problem(str(self.root / "connections"), None, f"unknown feed '{name}'",
                         _did_you_mean(name, self.feeds))]
            )
        return self.feeds[name]


def load_workspace(root: Path) -> Workspace:
    """Load and validate the workspace at `root`; raise ConfigError with every problem."""
    workspace, problems = collect_workspace(root)
    if problems:
        raise ConfigError(problems)
    return workspace


def collect_workspace(root: Path) -> tuple[Workspace, list[Problem]]:
    """Like load_workspace, but return the problems instead of raising (for `ef validate`)."""
    root = root.resolve()
    problems: list[Problem] = []
    settings = _load_settings(root, problems)
    workspace = Workspace(root=root, settings=settings)
    folder = root / "connections"
    if not folder.is_dir():
        problems.append(
            Problem(str(folder), None, "no connections/ folder in the workspace",
                    "run `ef init` to create one, or pass --workspace DIR")
        )
        return workspace, problems
    files = sorted([*folder.rglob("*.yaml"), *folder.rglob("*.yml")])
    presets_dir = root / "presets"
    if presets_dir.is_dir():
        files += sorted([*presets_dir.rglob("*.yaml"), *presets_dir.rglob("*.yml")])
    for path in files:
        docs, file_problems = read_documents(path, _display(root, path))
        problems += file_problems
        for doc in docs:
            _add_document(workspace, doc, problems)
    problems += check_references(workspace)
    problems.sort(key=lambda p: (p.file, p.line or 0))
    return workspace, problems


def _display(root: Path, path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _load_settings(root: Path, problems: list[Problem]) -> WorkspaceSettings:
    path = root / "ef.yaml"
    if not path.exists():
        return WorkspaceSettings()
    docs, file_problems = read_documents(path, _display(root, path))
    problems += file_problems
    if not docs or docs[0].data is None:
        return WorkspaceSettings()
    try:
        return WorkspaceSettings.model_validate(docs[0].data)
    except ValidationError as exc:
        problems += validation_problems(exc, docs[0])
        return WorkspaceSettings()


def _add_document(workspace: Workspace, doc: SourceDoc, problems: list[Problem]) -> None:
    data = doc.data
    if not isinstance(data, dict):
        problems.append(Problem(doc.file, doc.line, "a document must be a mapping of keys",
                                "start it with `kind:` and `name:`"))
        return
    kind = data.get("kind")
    if kind not in ALL_KINDS:
        problems.append(
            Problem(doc.file, doc.line_of(("kind",)),
                    f"unknown kind {kind!r}" if kind else "document has no `kind:`",
                    f"kind is one of {', '.join(ALL_KINDS)}"
                    + _suffix(_did_you_mean(str(kind), ALL_KINDS) if kind else None))
        )
        return
    name = data.get("name")
    if not isinstance(name, str) or not name:
        problems.append(Problem(doc.file, doc.line, f"{kind} document has no `name:`"))
        return
    if (kind, name) in workspace.sources:
        first = workspace.sources[(kind, name)]
        problems.append(
            Problem(doc.file, doc.line_of(("name",)),
                    f"duplicate {kind} name '{name}', first defined at {first.file}:"
                    f"{first.line_of(('name',))}", "names must be unique within their kind")
        )
        return
    workspace.sources[(kind, name)] = doc
    if kind == "preset":
        workspace.presets[name] = doc
        return
    model = KINDS[kind]
    try:
        obj = model.model_validate(data)
    except ValidationError as exc:
        problems += validation_problems(exc, doc)
        return
    getattr(workspace, f"{kind}s" if kind != "network" else "networks")[name] = obj


def check_references(ws: Workspace) -> list[Problem]:
    """Connections must name feeds and sites that exist; platform-specific rules."""
    problems: list[Problem] = []
    declared = {kind: {n for k, n in ws.sources if k == kind} for kind in ("feed", "site")}
    for (kind, name), doc in ws.sources.items():
        if kind != "connection":
            continue  # checked on the raw data, so an otherwise invalid connection is checked too
        for ref in ("feed", "site"):
            target = doc.data.get(ref)
            if isinstance(target, str) and target not in declared[ref]:
                problems.append(ws.problem("connection", name, (ref,),
                                           f"unknown {ref} '{target}'",
                                           _did_you_mean(target, declared[ref])))
    for name, conn in ws.connections.items():
        site = ws.sites.get(conn.site)
        if site is None:
            continue
        if site.platform == "wordpress" and conn.stale.action in ("set_stock_zero", "hide"):
            problems.append(ws.problem(
                "connection", name, ("stale", "action"),
                f"stale.action {conn.stale.action} has no meaning for a WordPress site",
                "use draft or delete"))
    return problems


def _did_you_mean(word: str, candidates: Any) -> str | None:
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None


def _suffix(hint: str | None) -> str:
    return f"; {hint}" if hint else ""


# ---------------------------------------------------------------------------------------------
# pydantic errors → located problems


def validation_problems(exc: ValidationError, doc: SourceDoc) -> list[Problem]:
    """Turn pydantic's errors into problems with the line of the offending key."""
    problems: list[Problem] = []
    seen: set[tuple[int, str]] = set()
    for error in _pick_union_branches(exc.errors(include_url=False), doc.data):
        message, hint = _describe(error, error["path"])
        path = error["path"]
        sub = _SUBPATH.match(message)
        if sub:  # a validator pointed below its own field: "[consumer_secret] must …"
            path = path + tuple(sub.group(1).split("."))
            message = message[sub.end():]
        key = ".".join(str(p) for p in path) or "document"
        line = doc.line_of(path)
        if (line, message) in seen:
            continue
        seen.add((line, message))
        problems.append(Problem(doc.file, line, f"{key}: {message}", hint))
    return problems


def _data_path(loc: tuple[Any, ...], data: Any) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """Split a pydantic loc into the path that exists in the data and the union tags."""
    path: list[Any] = []
    tags: list[Any] = []
    current = data
    for part in loc:
        if isinstance(current, dict) and part in current:
            current = current[part]
            path.append(part)
        elif isinstance(current, list) and isinstance(part, int) and part < len(current):
            current = current[part]
            path.append(part)
        else:
            tags.append((tuple(path), part))
    return tuple(path), tuple(tags)


def _pick_union_branches(errors: list[dict[str, Any]], data: Any) -> list[dict[str, Any]]:
    """Where a value failed every member of a union, keep the member it most resembles."""
    for error in errors:
        error["path"], error["tags"] = _data_path(tuple(error["loc"]), data)
    branches: dict[tuple[Any, ...], dict[Any, list[dict[str, Any]]]] = {}
    for error in errors:
        for prefix, tag in error["tags"]:
            if error["type"] == "extra_forbidden" and tag == error["loc"][-1]:
                continue  # the unknown key itself, not a union tag
            branches.setdefault(prefix, {}).setdefault(tag, []).append(error)
    dropped: set[int] = set()
    for options in branches.values():
        if len(options) < 2:
            continue
        best = min(options.values(), key=_mismatch)
        for group in options.values():
            if group is not best:
                dropped.update(id(e) for e in group)
    return [e for e in errors if id(e) not in dropped]


def _mismatch(group: list[dict[str, Any]]) -> tuple[int, int]:
    structural = sum(e["type"] in ("missing", "extra_forbidden", "model_type", "dict_type",
                                   "string_type", "list_type") for e in group)
    return structural, len(group)


def _describe(error: dict[str, Any], path: tuple[Any, ...]) -> tuple[str, str | None]:
    kind = error["type"]
    loc = error["loc"]
    if kind == "extra_forbidden":
        key = str(loc[-1])
        return f"unknown key '{key}'", _did_you_mean(key, known_keys())
    if kind == "missing":
        return f"missing required key '{loc[-1]}'", None
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        return f"{error['input']!r} is not allowed", f"expected {expected}"
    message = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix):]
    return message, None


_SUBPATH = re.compile(r"^\[([\w.]+)\] ")
_KNOWN: set[str] = set()


def known_keys() -> set[str]:
    """Every key the configuration language knows, for 'did you mean' hints."""
    if not _KNOWN:
        seen: set[type] = set()

        def walk(model: type[BaseModel]) -> None:
            if model in seen:
                return
            seen.add(model)
            for name, info in model.model_fields.items():
                _KNOWN.add(info.alias or name)
                for sub in _models_in(info.annotation):
                    walk(sub)

        for model in (*KINDS.values(), WorkspaceSettings):
            walk(model)
    return _KNOWN


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    import typing

    found: list[type[BaseModel]] = []
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    for arg in typing.get_args(annotation):
        found += _models_in(arg)
    return found
