"""Destinations by platform, through the `elementafeeds.destinations` entry-point group.

Loaded lazily, on first use: `ef --help` imports no destination (and so no httpx). The
built-in WooCommerce destination is also known by its import path, so a source checkout whose
entry points are not (re)installed still works.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Any

from elementafeeds.config.models import Site
from elementafeeds.destinations.gate import GateRegistry, SiteGate
from elementafeeds.errors import ConfigError

__all__ = ["GROUP", "GateRegistry", "destination_class", "open_destination", "platforms"]

GROUP = "elementafeeds.destinations"
_BUILTIN = {
    "woocommerce": "elementafeeds.destinations.woocommerce:WooCommerceDestination",
    "wordpress": "elementafeeds.destinations.wordpress:WordPressDestination",
}


def platforms() -> list[str]:
    """Every platform a destination is registered for."""
    return sorted({ep.name for ep in entry_points(group=GROUP)} | set(_BUILTIN))


def destination_class(platform: str) -> type[Any]:
    """The destination class for `platform`; ConfigError naming the known ones if none."""
    for ep in entry_points(group=GROUP):
        if ep.name == platform:
            return ep.load()
    target = _BUILTIN.get(platform)
    if target is None:
        raise ConfigError(
            f"no destination for platform '{platform}'; known: {', '.join(platforms())}"
        )
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def open_destination(site: Site, gate: SiteGate, **options: Any) -> Any:
    """The destination for `site`, not yet entered: use it as `async with … as destination`.
    `options` pass through (transport=, retry=, credentials=)."""
    return destination_class(site.platform)(site, gate, **options)
