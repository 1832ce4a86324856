"""`ef init`: start a workspace."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from elementafeeds.cli import common


def register(app: typer.Typer) -> None:
    @app.command("init", epilog="Examples:\n\n  ef init my-feeds\n\n  cd my-feeds && ef run --all")
    def init(
        directory: Optional[Path] = typer.Argument(
            None, help="Where to create the workspace (default: the --workspace directory)."
        ),
        force: bool = typer.Option(False, "--force", help="Overwrite existing example files."),
    ) -> None:
        """Create a workspace with an example site (the local sandbox), feed and connection."""
        from elementafeeds.config.init_workspace import init_workspace

        target = (directory or common.workspace_dir()).resolve()
        written = common.call(init_workspace, target, force)
        for path in written:
            common.console.print(f"created {common.escape(str(path))}")
        common.console.print(
            f"\nNext: cd {common.escape(str(target))} && ef validate && ef run --all"
        )
