"""`ef schema`: the JSON Schema of the configuration language."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command(
        "schema",
        epilog=(
            "Examples:\n\n  ef schema > ef.schema.json\n\n"
            "Then, first line of a YAML file (YAML language server):\n\n"
            "  # yaml-language-server: $schema=../ef.schema.json"
        ),
    )
    def schema(
        output: Optional[Path] = typer.Option(
            None, "--output", "-o", help="Write to this file instead of stdout."
        ),
    ) -> None:
        """Print the JSON Schema of all document kinds, for editor completion and checks."""
        from elementafeeds.config.schema import json_schema

        text = json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"
        if output:
            output.write_text(text, encoding="utf-8")
            typer.echo(f"wrote {output}")
        else:
            typer.echo(text, nl=False)
