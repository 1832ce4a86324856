"""Product-type presets: destination shape and default field mappings per network.

Built-in presets are versioned YAML files in `elementafeeds/rules/presets/` (deal, fashion,
furniture, listing, hotel, and the base `external-product` the WooCommerce ones extend). A
workspace may add `kind: preset` documents: one with the name of a built-in overrides that
built-in (it extends it implicitly), one with `extends: NAME` builds on any other preset.
Built-ins resolve their own `extends` through the workspace first, so overriding
`external-product` changes deal, fashion and furniture too.

Merging, child over parent: `destination` and `fields` key by key (a field's mapping is
replaced whole), `categories` key by key, `attributes` replaced as a list, and `networks` per
network with the same rules. A connection then overrides the chosen network's fields the same
way (see engine.build_ruleset).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, ValidationError

from elementafeeds.config.models import Attribute, FieldMapping, Name, Strict
from elementafeeds.config.yaml_source import SourceDoc, read_documents
from elementafeeds.errors import Problem

if TYPE_CHECKING:
    from elementafeeds.config.loader import Workspace

BUILTIN_DIR = Path(__file__).parent / "presets"
NETWORK_ALIASES = {
    "google": "google_merchant", "gmc": "google_merchant", "google_shopping": "google_merchant",
    "merchant_center": "google_merchant", "google_merchant_center": "google_merchant",
    "affiliate_window": "awin", "awin_com": "awin", "trade_doubler": "tradedoubler",
}


class PresetDestination(Strict):
    """Where a preset's items go and what they are there."""

    platform: Literal["woocommerce", "wordpress"] | None = Field(
        None, description="woocommerce (products) or wordpress (posts, custom post types).")
    type: Literal["external", "simple"] | None = Field(
        None, description="WooCommerce product type; external products carry external_url.")
    post_type: str | None = Field(None, description="WordPress REST base, e.g. posts, hotels.")
    button_text: dict[str, str] | None = Field(
        None, description="External products' button label by site language; key `default`.")


class PresetCategories(Strict):
    """Category defaults; a connection's own `categories` keys override these."""

    source: str | None = Field(None, description="Source field holding the category path.")
    delimiter: str | None = Field(None, description="Separator of the path's levels.")
    map: dict[str, list[str | int]] | None = Field(None, description="Path → categories.")
    unmapped: Literal["skip", "default"] | None = Field(None, description="skip | default.")
    default: list[str | int] | None = Field(None, description="Categories for unmapped.")


class PresetNetwork(Strict):
    """Field mappings for one network's column names."""

    fields: dict[str, FieldMapping] = Field(default_factory=dict, description="Mappings.")
    categories: PresetCategories | None = Field(None, description="Category defaults.")
    attributes: list[Attribute] | None = Field(None, description="Attributes.")


class PresetDoc(Strict):
    """A `kind: preset` document (built-in or in the workspace)."""

    kind: Literal["preset"] = Field(description="Document kind.")
    name: Name
    version: int = Field(1, ge=1, description="Bumped when the preset's output changes.")
    extends: str | None = Field(None, description="The preset this one builds on.")
    description: str | None = Field(None, description="What the preset is for.")
    destination: PresetDestination = Field(
        default_factory=PresetDestination, description="Destination shape.")
    fields: dict[str, FieldMapping] = Field(
        default_factory=dict, description="Mappings for every network.")
    categories: PresetCategories | None = Field(None, description="Category defaults.")
    attributes: list[Attribute] | None = Field(None, description="Attributes.")
    networks: dict[str, PresetNetwork] = Field(
        default_factory=dict, description="Mappings per network (awin, google_merchant, …).")


@dataclass(frozen=True)
class ResolvedPreset:
    """A preset merged along its `extends` chain, narrowed to one network. Picklable."""

    name: str
    version: int
    chain: tuple[str, ...]
    """`name@version` from the preset itself down to its root, for `ef preview`."""
    destination: PresetDestination
    network: str | None
    """The network whose columns were used (None when the feed's network is not covered)."""
    networks: tuple[str, ...]
    fields: dict[str, Any]
    categories: dict[str, Any]
    attributes: tuple[Attribute, ...] | None


class PresetError(Exception):
    """Problems resolving a preset (each located in its document)."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(p.render() for p in problems))
        self.problems = problems


def normalize_network(label: str | None) -> str | None:
    """The preset key of a network label: "Google Merchant" → google_merchant."""
    if not label:
        return None
    key = re.sub(r"[^a-z0-9]+", "_", label.strip().lower()).strip("_")
    return NETWORK_ALIASES.get(key, key)


@lru_cache(maxsize=1)
def builtin_sources() -> dict[str, SourceDoc]:
    """The built-in preset documents by name (read once per process)."""
    found: dict[str, SourceDoc] = {}
    for path in sorted(BUILTIN_DIR.glob("*.yaml")):
        docs, problems = read_documents(path, f"<built-in>/presets/{path.name}")
        if problems:
            raise PresetError(problems)
        for doc in docs:
            found[doc.data["name"]] = doc
    return found


def builtin_names() -> list[str]:
    return sorted(builtin_sources())


def preset_names(ws: Workspace | None) -> list[str]:
    """Every preset a connection may name: built-in and workspace."""
    return sorted({*builtin_sources(), *((ws.presets if ws else {}).keys())})


def _validate(doc: SourceDoc) -> tuple[PresetDoc | None, list[Problem]]:
    from elementafeeds.config.loader import validation_problems

    try:
        return PresetDoc.model_validate(doc.data), []
    except ValidationError as exc:
        return None, validation_problems(exc, doc)


def _merge(parent: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    """Child over parent, by the rules in the module docstring (raw YAML data)."""
    merged = {**parent, **{k: v for k, v in child.items() if k not in _MERGED}}
    merged.pop("extends", None)
    for key in ("destination", "fields", "categories"):
        if key in child or key in parent:
            merged[key] = _shallow(parent.get(key), child.get(key), deeper=key == "destination")
    if "attributes" in child:
        merged["attributes"] = child["attributes"]
    networks = dict(parent.get("networks") or {})
    for name, block in (child.get("networks") or {}).items():
        base = networks.get(name) or {}
        block = block or {}
        out = {**base, **{k: v for k, v in block.items() if k not in ("fields", "categories")}}
        for key in ("fields", "categories"):
            if key in block or key in base:
                out[key] = _shallow(base.get(key), block.get(key))
        networks[name] = out
    if networks:
        merged["networks"] = networks
    return merged


_MERGED = ("destination", "fields", "categories", "networks", "attributes", "extends")


def _shallow(parent: Any, child: Any, deeper: bool = False) -> Any:
    if not isinstance(child, dict):
        return parent if child is None else child
    if not isinstance(parent, dict):
        return child
    out = {**parent, **child}
    if deeper and isinstance(parent.get("button_text"), dict) and isinstance(
            child.get("button_text"), dict):
        out["button_text"] = {**parent["button_text"], **child["button_text"]}
    return out


def chain_documents(ws: Workspace | None, name: str) -> list[SourceDoc]:
    """The documents of `name`'s chain, the preset itself first (for locating problems)."""
    return _walk_chain(ws, name)[0]


def _raw_chain(ws: Workspace | None, name: str) -> tuple[dict[str, Any], list[str], list[Problem]]:
    """Merged raw data of `name` and its ancestors, the chain, and any problems."""
    docs, problems = _walk_chain(ws, name)
    for doc in docs:
        problems += _validate(doc)[1]
    merged: dict[str, Any] = {}
    for doc in reversed(docs):
        merged = _merge(merged, doc.data if isinstance(doc.data, dict) else {})
    names = [f"{d.data.get('name')}@{d.data.get('version', 1)}" for d in docs
             if isinstance(d.data, dict)]
    return merged, names, problems


def _walk_chain(ws: Workspace | None, name: str) -> tuple[list[SourceDoc], list[Problem]]:
    workspace = ws.presets if ws is not None else {}
    builtins = builtin_sources()
    problems: list[Problem] = []
    chain: list[tuple[SourceDoc, bool]] = []
    seen: set[tuple[str, bool]] = set()
    current: str | None = name
    use_workspace = True
    while current is not None:
        if (current, use_workspace) in seen:
            doc = chain[-1][0]
            problems.append(Problem(doc.file, doc.line_of(("extends",)),
                                    f"preset '{name}' extends itself through '{current}'",
                                    "remove one of the extends"))
            break
        seen.add((current, use_workspace))
        if use_workspace and current in workspace:
            doc, is_builtin = workspace[current], False
        elif current in builtins:
            doc, is_builtin = builtins[current], True
        else:
            where = chain[-1][0] if chain else None
            hint = _did_you_mean(current, preset_names(ws))
            message = f"unknown preset '{current}'"
            if where is not None:
                problems.append(Problem(where.file, where.line_of(("extends",)), message, hint))
            else:
                problems.append(Problem("<workspace>", None, message, hint))
            break
        chain.append((doc, is_builtin))
        data = doc.data if isinstance(doc.data, dict) else {}
        parent = data.get("extends")
        if parent is not None and not isinstance(parent, str):
            problems.append(Problem(doc.file, doc.line_of(("extends",)),
                                    "extends must be the name of a preset"))
            break
        if not is_builtin and (parent == current or (parent is None and current in builtins)):
            use_workspace = False  # a workspace override of a built-in extends that built-in
            parent = current
        else:
            use_workspace = True
        current = parent
    return [doc for doc, _ in chain], problems


def resolve_preset(ws: Workspace | None, name: str, network: str | None) -> ResolvedPreset:
    """The preset `name` merged along its chain and narrowed to `network`; PresetError."""
    merged, chain, problems = _raw_chain(ws, name)
    if problems:
        raise PresetError(problems)
    merged["name"] = name
    try:
        preset = PresetDoc.model_validate(merged)
    except ValidationError as exc:
        raise PresetError([Problem("<preset>", None, f"preset '{name}': {exc}")]) from None
    if preset.destination.platform is None:
        source = (ws.presets.get(name) if ws else None) or builtin_sources().get(name)
        file, line = (source.file, source.line) if source else ("<preset>", None)
        raise PresetError([Problem(file, line, f"preset '{name}' has no destination.platform",
                                   "set destination.platform, or extend a built-in preset")])
    key = normalize_network(network)
    block = preset.networks.get(key) if key else None
    fields: dict[str, Any] = dict(preset.fields)
    categories = preset.categories.model_dump(exclude_none=True) if preset.categories else {}
    attributes = preset.attributes
    if block is not None:
        fields.update(block.fields)
        if block.categories is not None:
            categories.update(block.categories.model_dump(exclude_none=True))
        if block.attributes is not None:
            attributes = block.attributes
    return ResolvedPreset(
        name=name, version=preset.version, chain=tuple(chain), destination=preset.destination,
        network=key if block is not None else None, networks=tuple(sorted(preset.networks)),
        fields=fields, categories=categories,
        attributes=tuple(attributes) if attributes is not None else None,
    )


def workspace_preset_problems(ws: Workspace) -> list[Problem]:
    """Every problem of the workspace's preset documents, located in their files: shape,
    `extends`, and each field mapping (unknown transforms, bad arguments, templates, paths)."""
    problems: list[Problem] = []
    for name, doc in ws.presets.items():
        try:
            resolve_preset(ws, name, None)
        except PresetError as exc:
            problems += exc.problems
        problems += _mapping_problems(doc)
    return list(dict.fromkeys(problems))


def _mapping_problems(doc: SourceDoc) -> list[Problem]:
    """Compile every field mapping of a preset document on its own, wherever it sits."""
    from pydantic import TypeAdapter

    from elementafeeds.rules.mapping import MappingError, compile_mapping

    data = doc.data if isinstance(doc.data, dict) else {}
    name = data.get("name")
    blocks: list[tuple[tuple[Any, ...], Any]] = [(("fields",), data.get("fields"))]
    for network, block in (data.get("networks") or {}).items():
        if isinstance(block, dict):
            blocks.append((("networks", network, "fields"), block.get("fields")))
    adapter = TypeAdapter(FieldMapping)
    problems: list[Problem] = []
    for where, fields in blocks:
        for dest, raw in (fields.items() if isinstance(fields, dict) else ()):
            try:
                compile_mapping(adapter.validate_python(raw))
            except ValidationError:
                continue  # reported by the document's own validation
            except MappingError as exc:
                path = where + (dest,) + exc.where
                problems.append(Problem(doc.file, doc.line_of(path),
                                        f"preset '{name}': fields.{dest}: {exc}", exc.hint))
    return problems


def _did_you_mean(word: str, candidates: list[str]) -> str | None:
    import difflib

    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    return f"known presets: {', '.join(candidates)}"
