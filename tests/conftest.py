"""Shared fixtures. The sandbox fixtures (`sandbox`) come from the package's pytest plugin."""

from __future__ import annotations

import shutil
from importlib.util import find_spec
from pathlib import Path

import pytest

pytest_plugins = (
    ["elementafeeds.sandbox.testing"] if find_spec("elementafeeds.sandbox.testing") else []
)

REPO = Path(__file__).resolve().parent.parent
SHARED_FEEDS = REPO.parent / "shared" / "feeds"


@pytest.fixture
def example_workspace(tmp_path: Path) -> Path:
    """A private copy of the bundled example workspace."""
    target = tmp_path / "ws"
    shutil.copytree(REPO / "examples", target, ignore=shutil.ignore_patterns(".ef"))
    return target


@pytest.fixture(autouse=True)
def _isolated_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the developer's EF_STATE or EF_WORKSPACE."""
    monkeypatch.delenv("EF_STATE", raising=False)
    monkeypatch.delenv("EF_WORKSPACE", raising=False)
