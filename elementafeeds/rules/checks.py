"""Workspace checks owned by the rules layer, for `ef validate` and before every run.

The loader validates each document's shape; these checks need the rules: unknown presets,
unknown transforms and bad transform arguments, templates and field paths that cannot
compile, unknown destination fields, essential fields nothing maps, a preset for the wrong
platform, `stale.action: set_stock_zero` on external products, and invalid workspace preset
documents. Every problem is located with file and line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from elementafeeds.errors import ConfigError, Problem
from elementafeeds.rules.build import assemble
from elementafeeds.rules.presets import PresetError, workspace_preset_problems

if TYPE_CHECKING:
    from elementafeeds.config.loader import Workspace


def check_workspace(ws: Workspace) -> list[Problem]:
    """Every rules problem of the workspace, each once, sorted by file and line."""
    problems: list[Problem] = list(workspace_preset_problems(ws))
    for name in sorted(ws.connections):
        try:
            problems += assemble(ws, name)[1]
        except (ConfigError, PresetError) as exc:
            problems += exc.problems
    unique = list(dict.fromkeys(problems))
    unique.sort(key=lambda p: (p.file, p.line or 0, p.message))
    return unique
