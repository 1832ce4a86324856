"""Resolve a connection into a RuleSet, and report every problem with its file and line.

Precedence of field mappings, lowest first: the preset's common fields, the preset's block for
the feed's network, the `columns` of a `kind: network` document of that name, the
connection's `fields`. A mapping set to "" removes an inherited field. Categories merge key
by key (the connection's explicitly written keys win); attributes written in the connection
replace the preset's list.

Each problem points at the document that caused it: the connection for its own keys, the
workspace preset (or the built-in file) for inherited mappings, the network document for its
columns.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Any

from elementafeeds.config.models import (
    AllGroup,
    AnyGroup,
    Categories,
    Connection,
    FieldSource,
    Filters,
)
from elementafeeds.errors import ConfigError, Problem
from elementafeeds.rules.attributes import AttributeSpecError, compile_attributes
from elementafeeds.rules.engine import RuleSet
from elementafeeds.rules.mapping import MappingError, compile_mapping
from elementafeeds.rules.paths import PathError, compile_path
from elementafeeds.rules.payload import NOT_MAPPED, mappable_fields
from elementafeeds.rules.presets import (
    PresetError,
    ResolvedPreset,
    chain_documents,
    normalize_network,
    resolve_preset,
)
from elementafeeds.rules.templates import TemplateError, compile_template

if TYPE_CHECKING:
    from elementafeeds.config.loader import Workspace


def build_ruleset(ws: Workspace, name: str) -> RuleSet:
    """The RuleSet of connection `name`; ConfigError listing every problem otherwise."""
    rules, problems = assemble(ws, name)
    if problems or rules is None:
        raise ConfigError(problems or [Problem("<workspace>", None, f"connection '{name}'")])
    return rules


def assemble(ws: Workspace, name: str) -> tuple[RuleSet | None, list[Problem]]:
    """Resolve and compile-check connection `name`; return the RuleSet and its problems."""
    conn = ws.connection(name)
    site = ws.sites.get(conn.site)
    feed = ws.feeds.get(conn.feed)
    if site is None or feed is None:
        return None, []  # the loader reports unknown feeds and sites
    try:
        preset = resolve_preset(ws, conn.product_type, feed.network)
    except PresetError as exc:  # an unknown top-level preset is the connection's mistake
        return None, [ws.problem("connection", name, ("product_type",), p.message, p.hint)
                      if p.file == "<workspace>" else p for p in exc.problems]
    if preset.destination.platform != site.platform:
        return None, [ws.problem(
            "connection", name, ("product_type",),
            f"preset '{preset.name}' makes {preset.destination.platform} items but site "
            f"'{site.name}' is a {site.platform} site",
            "use listing or hotel for WordPress sites, deal, fashion or furniture for "
            "WooCommerce, or a workspace preset with the right destination.platform")]

    fields, origins = _effective_fields(ws, conn, preset, feed.network)
    product_type = preset.destination.type if site.platform == "woocommerce" else None
    static_type = fields.get("type")
    if isinstance(static_type, str) and static_type.strip() and "{" not in static_type:
        product_type = static_type.strip()
    if product_type == "external" and "button_text" not in fields:
        labels = preset.destination.button_text or {}
        label = labels.get(site.language or feed.language or "default") or labels.get("default")
        if label:
            fields["button_text"], origins["button_text"] = label, "preset"
    categories = Categories.model_validate({
        **preset.categories,
        **conn.categories.model_dump(include=conn.categories.model_fields_set)})
    own_attributes = "attributes" in conn.model_fields_set
    rules = RuleSet(
        connection=conn, platform=site.platform, preset=preset, fields=fields,
        origins=origins, categories=categories,
        attributes=tuple(conn.attributes) if own_attributes else (preset.attributes or ()),
        product_type=product_type, post_type=conn.post_type or preset.destination.post_type)
    locate = _Locator(ws, name, preset, feed.network)
    problems = _field_problems(rules, locate, own_attributes)
    problems += _connection_problems(rules, locate, feed.name)
    return (None if problems else rules), problems


def _effective_fields(ws: Workspace, conn: Connection, preset: ResolvedPreset,
                      network: str | None) -> tuple[dict[str, Any], dict[str, str]]:
    """Field mappings by precedence, and where each came from."""
    fields: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for dest, mapping in preset.fields.items():
        fields[dest], origins[dest] = mapping, "preset"
    network_doc = ws.networks.get(network) if network else None
    if network_doc is not None:
        for dest, column in network_doc.columns.items():
            fields[dest] = FieldSource.model_validate({"from": column})
            origins[dest] = "network"
    for dest, mapping in conn.fields.items():
        fields[dest], origins[dest] = mapping, "connection"
    for dest in [d for d, m in fields.items() if m == ""]:
        del fields[dest], origins[dest]
    return fields, origins


class _Locator:
    """Turns a key path of the effective configuration into a located Problem."""

    def __init__(self, ws: Workspace, name: str, preset: ResolvedPreset,
                 network: str | None) -> None:
        self.ws, self.name, self.preset = ws, name, preset
        self.network_label = network
        self.network = normalize_network(network)

    def connection(self, path: tuple[Any, ...], message: str, hint: str | None = None) -> Problem:
        return self.ws.problem("connection", self.name, path, message, hint)

    def inherited(self, origin: str, path: tuple[Any, ...], message: str,
                  hint: str | None = None) -> Problem:
        if origin == "connection":
            return self.connection(path, message, hint)
        if origin == "network" and self.network_label:
            return self.ws.problem("network", self.network_label, ("columns",) + path[1:2],
                                   message, hint)
        for doc in chain_documents(self.ws, self.preset.name):
            for candidate in (("networks", self.network) + path, path):
                if candidate[: len(candidate) - len(path) + 2] in doc.lines:
                    return Problem(doc.file, doc.line_of(candidate),
                                   f"preset '{doc.data.get('name')}': {message}", hint)
        return Problem("<preset>", None, f"preset '{self.preset.name}': {message}", hint)


def _field_problems(rules: RuleSet, locate: _Locator, own_attributes: bool) -> list[Problem]:
    problems: list[Problem] = []
    allowed = mappable_fields(rules.platform)
    for dest, mapping in rules.fields.items():
        origin = rules.origins.get(dest, "preset")
        if dest not in allowed and not (dest.startswith("meta.") and len(dest) > 5):
            close = difflib.get_close_matches(dest, sorted(allowed), n=1, cutoff=0.7)
            hint = NOT_MAPPED.get(dest) or (
                f"did you mean '{close[0]}'?" if close else
                f"write meta.{dest} to store it as meta data")
            problems.append(locate.inherited(
                origin, ("fields", dest),
                f"unknown destination field '{dest}' for a {rules.platform} item", hint))
            continue
        try:
            compile_mapping(mapping)
        except MappingError as exc:
            problems.append(locate.inherited(origin, ("fields", dest) + exc.where,
                                             f"fields.{dest}: {exc}", exc.hint))
    try:
        compile_attributes(rules.attributes)
    except AttributeSpecError as exc:
        origin = "connection" if own_attributes else "preset"
        problems.append(locate.inherited(origin, ("attributes", exc.index, exc.key),
                                         f"attribute: {exc}"))
    source = rules.categories.source
    if source:
        try:
            compile_path(source)
        except PathError as exc:
            own = "source" in rules.connection.categories.model_fields_set
            problems.append(locate.inherited("connection" if own else "preset",
                                             ("categories", "source"), str(exc)))
    return problems


def _connection_problems(rules: RuleSet, locate: _Locator, feed: str) -> list[Problem]:
    conn = rules.connection
    problems: list[Problem] = []
    try:
        template = compile_template(conn.sku)
        if not template.fields:
            problems.append(locate.connection(
                ("sku",), f"sku template {conn.sku!r} has no {{field}}: every record would "
                "get the same SKU", 'use a unique column, e.g. "shop-{merchant_product_id}"'))
    except (TemplateError, PathError) as exc:
        problems.append(locate.connection(("sku",), f"sku: {exc}"))
    problems += [locate.connection(path, msg) for path, msg in _filter_issues(conn.filters)]
    essentials = ["name", "regular_price"] if rules.platform == "woocommerce" else ["title"]
    if rules.platform == "woocommerce" and rules.product_type == "external":
        essentials.append("external_url")
    networks = ", ".join(rules.preset.networks) or "none"
    for dest in essentials:
        if dest not in rules.fields:
            where = ("fields",) if conn.fields else ("product_type",)
            net = locate.network_label
            why = (f"preset '{rules.preset.name}' has no columns for network '{net}'" if net
                   else f"feed '{feed}' names no network")
            problems.append(locate.connection(
                where, f"nothing maps {dest}, which every item needs: {why} and fields has "
                f"no {dest}", f"set `network:` on feed '{feed}' (presets know {networks}) "
                f"or add fields.{dest}"))
    if (rules.platform == "woocommerce" and rules.product_type == "external"
            and conn.stale.action == "set_stock_zero"):
        problems.append(locate.connection(
            ("stale", "action"),
            "stale.action set_stock_zero cannot work on external products: WooCommerce keeps "
            "them in stock whatever is sent",
            "use hide (removes them from the catalogue) or draft (unpublishes them)"))
    if rules.platform == "woocommerce" and conn.post_type:
        problems.append(locate.connection(("post_type",),
                                          "post_type only applies to WordPress sites"))
    return problems


def _filter_issues(filters: Filters) -> list[tuple[tuple[Any, ...], str]]:
    issues: list[tuple[tuple[Any, ...], str]] = []

    def walk(nodes: list[Any], path: tuple[Any, ...]) -> None:
        for i, node in enumerate(nodes):
            if isinstance(node, AnyGroup):
                walk(node.any, path + (i, "any"))
            elif isinstance(node, AllGroup):
                walk(node.all, path + (i, "all"))
            else:
                try:
                    compile_path(node.field)
                except PathError as exc:
                    issues.append((path + (i, "field"), f"filter: {exc}"))

    walk(filters.rules, ("filters", "rules"))
    return issues

