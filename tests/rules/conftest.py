"""Fixtures for the rules tests: workspaces written into tmp_path, real YAML, real loader."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from elementafeeds.config.loader import Workspace, collect_workspace, load_workspace
from elementafeeds.rules import RuleSet, build_ruleset

SITES = """
kind: site
name: shop
platform: woocommerce
url: https://shop.example
language: fi
credentials: {consumer_key: "${SHOP_KEY}", consumer_secret: "${SHOP_SECRET}"}
---
kind: site
name: blog
platform: wordpress
url: https://blog.example
language: en
credentials: {username: "${BLOG_USER}", application_password: "${BLOG_PASSWORD}"}
---
kind: feed
name: awin-feed
network: awin
url: feed.csv
---
kind: feed
name: plain-feed
url: feed.csv
"""


@pytest.fixture
def write_workspace(tmp_path: Path) -> Callable[..., Path]:
    """Write `connections/<file>` documents (plus the shared sites and feeds); return root."""

    def write(files: dict[str, str] | str, sites: bool = True) -> Path:
        if isinstance(files, str):
            files = {"connections/main.yaml": files}
        root = tmp_path / "ws"
        (root / "connections").mkdir(parents=True, exist_ok=True)
        if sites:
            (root / "connections" / "sites.yaml").write_text(textwrap.dedent(SITES))
        for name, text in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text), encoding="utf-8")
        return root

    return write


@pytest.fixture
def workspace(write_workspace: Callable[..., Path]) -> Callable[..., Workspace]:
    """A loaded workspace from connection YAML (must be valid for the loader)."""

    def load(files: dict[str, str] | str) -> Workspace:
        return load_workspace(write_workspace(files))

    return load


@pytest.fixture
def loose_workspace(write_workspace: Callable[..., Path]) -> Callable[..., Workspace]:
    """A workspace loaded without raising (for checks on documents with problems)."""

    def load(files: dict[str, str] | str) -> Workspace:
        return collect_workspace(write_workspace(files))[0]

    return load


@pytest.fixture
def ruleset(workspace: Callable[..., Workspace]) -> Callable[..., RuleSet]:
    """The RuleSet of a single connection document named `c` (sites and feeds provided)."""

    def build(connection: str, extra: dict[str, str] | None = None) -> RuleSet:
        files = {"connections/main.yaml": connection, **(extra or {})}
        return build_ruleset(workspace(files), "c")

    return build
