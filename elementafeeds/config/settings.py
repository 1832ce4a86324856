"""Workspace settings from the optional `ef.yaml`: where state lives and run defaults."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field

from elementafeeds.config.models import Strict


class Defaults(Strict):
    """Defaults of `ef run`; each can be overridden on the command line."""

    chunk_size: int = Field(500, ge=1, le=100_000, description=(
        "Records per pool chunk (CSV: about as many; the first chunk sets the byte size)."))
    workers: int = Field(2, ge=1, le=64, description="Processes that parse and map.")
    parallel: int = Field(4, ge=1, le=256, description="Connections run at once.")
    fetch_timeout_s: float = Field(900, gt=0, description="Overall deadline of a feed download.")
    request_timeout_s: float = Field(60, gt=0, description="Default timeout of a site request.")
    max_feed_bytes: int = Field(
        2 * 1024**3, ge=1, description="Largest feed accepted, after decompression."
    )
    error_records_per_run: int = Field(
        1000, ge=1, description="Error records kept in the database per run (all go to the log)."
    )


class WorkspaceSettings(Strict):
    """The optional `ef.yaml` at the top of a workspace."""

    state: str | None = Field(
        None, description="Path of the state database (default .ef/state.db); EF_STATE overrides."
    )
    defaults: Defaults = Field(default_factory=Defaults, description="Run defaults.")


def state_db_path(root: Path, settings: WorkspaceSettings) -> Path:
    """EF_STATE, else ef.yaml's `state`, else `<workspace>/.ef/state.db`."""
    env = os.environ.get("EF_STATE")
    if env:
        return Path(env).expanduser().resolve()
    if settings.state:
        path = Path(settings.state).expanduser()
        return path if path.is_absolute() else (root / path).resolve()
    return root / ".ef" / "state.db"
