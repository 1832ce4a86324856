"""`ef validate`: check every YAML document of the workspace."""

from __future__ import annotations

import typer

from elementafeeds.cli import common
from elementafeeds.exit_codes import ExitCode


def register(app: typer.Typer) -> None:
    @app.command(
        "validate",
        epilog="Examples:\n\n  ef validate\n\n  ef -w ~/my-feeds validate --json",
    )
    def validate(
        as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    ) -> None:
        """Check every YAML document; exit 2 with file:line errors (pre-commit, CI)."""
        from elementafeeds.rules.workspace_check import validate_workspace

        result = common.call(validate_workspace, common.workspace_dir(), as_json=as_json)
        if as_json:
            common.print_json(result.as_dict())
        elif result.problems:
            for problem in result.problems:
                common.err_console.print(common.escape(problem.render()), soft_wrap=True)
            n = len(result.problems)
            common.err_console.print(f"[bold red]{n} problem{'s' * (n != 1)} found[/]")
        else:
            common.console.print(common.escape(result.summary()))
        raise typer.Exit(int(ExitCode.INVALID if result.problems else ExitCode.OK))
