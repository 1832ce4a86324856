"""Validate a whole workspace: the configuration layer's checks plus the rules' own.

The rules layer knows which presets and transforms exist, so it finishes what the
configuration loader started: one pass, every problem, each with file and line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from elementafeeds.config.loader import Workspace, collect_workspace
from elementafeeds.errors import ConfigError, Problem


@dataclass
class ValidationResult:
    workspace: Workspace
    problems: list[Problem]

    def summary(self) -> str:
        ws = self.workspace
        files = len({doc.file for doc in ws.sources.values()})
        return (
            f"ok: {len(ws.sites)} site(s), {len(ws.feeds)} feed(s), "
            f"{len(ws.connections)} connection(s) in {files} file(s)"
        )

    def as_dict(self) -> dict[str, Any]:
        ws = self.workspace
        return {
            "ok": not self.problems,
            "workspace": str(ws.root),
            "counts": {
                "sites": len(ws.sites),
                "feeds": len(ws.feeds),
                "networks": len(ws.networks),
                "connections": len(ws.connections),
                "presets": len(ws.presets),
            },
            "problems": [p.as_dict() for p in self.problems],
        }


def validate_workspace(root: Path) -> ValidationResult:
    """Every problem of the workspace at `root`, configuration and rules alike."""
    workspace, problems = collect_workspace(root)
    try:
        from elementafeeds.rules.checks import check_workspace
    except ImportError:  # pragma: no cover - the rules checks are part of the package
        check_workspace = None
    if check_workspace is not None:
        problems = problems + check_workspace(workspace)
    problems.sort(key=lambda p: (p.file, p.line or 0))
    return ValidationResult(workspace, problems)


def load_valid_workspace(root: Path) -> Workspace:
    """The workspace, or ConfigError with every problem: what commands that act call."""
    result = validate_workspace(root)
    if result.problems:
        raise ConfigError(result.problems)
    return result.workspace
