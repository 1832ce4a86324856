"""The effective configuration of a connection, even while it is still incomplete.

`ef map` is the tool that completes a connection, so it must work on one the rules layer
rejects: a feed without `network:` and no `fields:` yet fails validation ("nothing maps name,
which every item needs"), and that is exactly when field suggestions matter. The rules layer's
`assemble` gives no RuleSet when there are problems, so this module repeats its merge
(preset < network document columns < connection fields; categories key by key; the
connection's own attributes replace the preset's) for that case, and returns the problems as
warnings. Problems that leave nothing to merge — an unknown preset, a preset for the other
platform, YAML that does not load — still raise ConfigError.

A test checks that, for a valid connection, this gives what `assemble` gives.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from elementafeeds.config.loader import Workspace, collect_workspace
from elementafeeds.config.models import Categories, FieldSource
from elementafeeds.errors import ConfigError, Problem
from elementafeeds.rules.build import assemble
from elementafeeds.rules.engine import RuleSet
from elementafeeds.rules.presets import PresetError, resolve_preset


def load_for_mapping(root: Path, name: str) -> tuple[Workspace, RuleSet, list[Problem]]:
    """The workspace, the connection's effective rules and the rules' problems (warnings).

    Raises ConfigError when the workspace does not load or the connection cannot be merged.
    """
    ws, problems = collect_workspace(root)
    if problems:
        raise ConfigError(problems)
    ws.connection(name)  # ConfigError with a hint for an unknown name
    rules, warnings = assemble(ws, name)
    if rules is not None:
        return ws, rules, warnings
    return ws, lenient_rules(ws, name, warnings), warnings


def lenient_rules(ws: Workspace, name: str, problems: list[Problem]) -> RuleSet:
    """The RuleSet `assemble` would have built, problems notwithstanding."""
    conn = ws.connections[name]
    site = ws.sites[conn.site]
    feed = ws.feeds[conn.feed]
    try:
        preset = resolve_preset(ws, conn.product_type, feed.network)
    except PresetError as exc:
        raise ConfigError(exc.problems or problems) from None
    if preset.destination.platform != site.platform:
        raise ConfigError(problems or [Problem("<workspace>", None, f"preset '{preset.name}' "
                                               f"is for {preset.destination.platform} sites")])
    fields: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for dest, mapping in preset.fields.items():
        fields[dest], origins[dest] = mapping, "preset"
    network_doc = ws.networks.get(feed.network) if feed.network else None
    if network_doc is not None:
        for dest, column in network_doc.columns.items():
            fields[dest] = FieldSource.model_validate({"from": column})
            origins[dest] = "network"
    for dest, mapping in conn.fields.items():
        fields[dest], origins[dest] = mapping, "connection"
    for dest in [d for d, m in fields.items() if m == ""]:
        del fields[dest]
        origins.pop(dest, None)
    product_type = preset.destination.type if site.platform == "woocommerce" else None
    static_type = fields.get("type") if isinstance(fields.get("type"), str) else None
    if static_type and "{" not in static_type:
        product_type = static_type.strip()
    cat_data = dict(preset.categories)
    cat_data.update(conn.categories.model_dump(include=conn.categories.model_fields_set))
    own_attributes = "attributes" in conn.model_fields_set
    return RuleSet(
        connection=conn, platform=site.platform, preset=preset, fields=fields,
        origins=origins, categories=Categories.model_validate(cat_data),
        attributes=tuple(conn.attributes) if own_attributes else (preset.attributes or ()),
        product_type=product_type, post_type=conn.post_type or preset.destination.post_type,
    )
