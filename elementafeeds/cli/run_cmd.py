"""`ef run`: run connections."""

from __future__ import annotations

from typing import List, Optional

import typer

from elementafeeds.cli import common
from elementafeeds.exit_codes import ExitCode

EPILOG = """Examples:

  ef run hemtex-to-kaikkimerkit

  ef run --all --dry-run

  ef run --due --json        (cron: one line runs the whole workspace)
"""


def overall_exit(codes: list[ExitCode]) -> ExitCode:
    """The worst outcome wins: unreachable, then locked, then invalid, then failures."""
    for code in (ExitCode.UNREACHABLE, ExitCode.LOCKED, ExitCode.INVALID, ExitCode.FAILURES):
        if code in codes:
            return code
    return ExitCode.OK


def register(app: typer.Typer) -> None:
    @app.command("run", epilog=EPILOG)
    def run(
        connections: Optional[List[str]] = typer.Argument(None, help="Connections to run."),
        all_: bool = typer.Option(False, "--all", help="Run every enabled connection."),
        due: bool = typer.Option(False, "--due", help="Run enabled connections that are due."),
        dry_run: bool = typer.Option(
            False, "--dry-run", help="Read, map and diff; report what would change; write nothing."
        ),
        limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Stop after N records."),
        workers: Optional[int] = typer.Option(None, "--workers", min=1, help="Pool processes."),
        parallel: Optional[int] = typer.Option(
            None, "--parallel", min=1, help="Connections run at once."
        ),
        chunk_size: Optional[int] = typer.Option(
            None, "--chunk-size", min=1,
            help="Records per pool chunk (CSV: about as many; the first chunk sets the size)."
        ),
        force: bool = typer.Option(
            False, "--force", help="Read the feed even when its ETag/Last-Modified is unchanged."
        ),
        as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
    ) -> None:
        """Run connections: fetch, filter, map, diff and write to the sites."""
        from elementafeeds.pipeline.orchestrate import Selection, run_connections
        from elementafeeds.pipeline.runner import RunOptions
        from elementafeeds.rules.workspace_check import load_valid_workspace
        from elementafeeds.cli.progress_view import progress_sink

        ws = common.call(load_valid_workspace, common.workspace_dir(), as_json=as_json)
        defaults = ws.settings.defaults
        options = RunOptions(
            dry_run=dry_run, limit=limit, workers=workers or defaults.workers,
            chunk_size=chunk_size or defaults.chunk_size, force=force,
        )
        selection = Selection(tuple(connections or ()), all_, due)
        with progress_sink(not as_json) as sink:
            reports = common.call(run_connections, ws, selection, options,
                                  parallel or defaults.parallel, sink, as_json=as_json)
        if as_json:
            common.print_json({"runs": [r.as_dict() for r in reports]})
        else:
            render_reports(reports, dry_run)
        raise typer.Exit(int(overall_exit([r.exit_code for r in reports])))


def render_reports(reports, dry_run: bool) -> None:
    from rich.table import Table

    if not reports:
        common.console.print("nothing to run (no connection selected or due)")
        return
    verb = "would be " if dry_run else ""
    title = "runs: C created, U updated, N unchanged, S skipped, F failed"
    table = Table(title=f"{title} (dry run: {verb}…)" if dry_run else title)
    for column in ("run", "connection", "status", "records", "C", "U", "N", "S", "F", "s"):
        table.add_column(column, overflow="fold",
                         justify="left" if column in ("connection", "status") else "right")
    for report in reports:
        row = report.as_dict()
        table.add_row(*(common.escape(str(row[k] if row[k] is not None else "-")) for k in (
            "id", "connection", "status", "records", "created", "updated", "unchanged",
            "skipped", "failed", "duration_s")))
    common.console.print(table)
    for report in reports:
        for warning in report.warnings:
            common.err_console.print(f"warning: {common.escape(report.connection)}: "
                                     f"{common.escape(warning)}", soft_wrap=True)
        if report.message:
            common.err_console.print(f"{common.escape(report.connection)}: "
                                     f"{common.escape(report.message)}", soft_wrap=True)
