"""Helpers shared by the rules tests (not fixtures)."""

from __future__ import annotations

import textwrap
from pathlib import Path

SHARED_FEEDS = Path(__file__).resolve().parents[3] / "shared" / "feeds"


def connection_yaml(body: str, *, site: str = "shop", feed: str = "awin-feed",
                    product_type: str = "deal", sku: str = "s-{merchant_product_id}") -> str:
    """A connection document named `c` with `body` (YAML, top-level keys) appended."""
    head = (f"kind: connection\nname: c\nfeed: {feed}\nsite: {site}\n"
            f"product_type: {product_type}\nsku: \"{sku}\"\n")
    return head + textwrap.dedent(body)
