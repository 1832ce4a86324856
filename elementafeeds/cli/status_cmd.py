"""`ef status` and `ef errors`: what ran, how it ended, what failed."""

from __future__ import annotations

from typing import Optional

import typer

from elementafeeds.cli import common
from elementafeeds.cli.tables import print_table, write_csv

OVERVIEW = ("connection", "feed", "site", "enabled", "status", "created", "updated",
            "unchanged", "skipped", "failed", "started_at", "duration_s", "next_due")
HISTORY = ("id", "status", "records", "created", "updated", "unchanged", "skipped", "failed",
           "started_at", "duration_s", "error_summary")
ERRORS = ("sku", "record", "stage", "code", "message")


def register(app: typer.Typer) -> None:
    @app.command("status", epilog="Examples:\n\n  ef status\n\n  ef status hemtex-to-kaikkimerkit "
                 "--runs 5\n\n  ef status --status failed --csv > failed.csv")
    def status(
        connection: Optional[str] = typer.Argument(None, help="Show this connection's runs."),
        runs: int = typer.Option(20, "--runs", min=1, help="How many runs of a connection."),
        status_: Optional[str] = typer.Option(
            None, "--status", help="Only runs/connections with this status."
        ),
        sort: str = typer.Option("connection", "--sort", help="Sort the overview by a column."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
        as_csv: bool = typer.Option(False, "--csv", help="Print CSV."),
    ) -> None:
        """Connections and their runs with counters (C/U/N/S/F), or one connection's history."""
        from elementafeeds.config.loader import load_workspace
        from elementafeeds.pipeline import status as library

        ws = common.call(load_workspace, common.workspace_dir(), as_json=as_json)
        if connection:
            rows = common.call(library.history, ws, connection, runs, status_, as_json=as_json)
            columns, title = HISTORY, f"runs of {connection}"
        else:
            rows = common.call(library.overview, ws, sort, status_, as_json=as_json)
            columns, title = OVERVIEW, "connections"
        if as_json:
            common.print_json({"runs" if connection else "connections": rows})
        elif as_csv:
            write_csv(rows, columns)
        else:
            print_table([_short(r) for r in rows], [_SHORT.get(c, c) for c in columns
                        if c not in ("feed", "enabled", "duration_s")], title)

    @app.command("errors", epilog="Examples:\n\n  ef errors 42\n\n  ef errors 42 --csv > errors.csv")
    def errors(
        run_id: int = typer.Argument(..., help="Run id (see ef status CONNECTION)."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
        as_csv: bool = typer.Option(False, "--csv", help="Print CSV."),
    ) -> None:
        """A run's error records: SKU, stage, code, message (the full log is in the log file)."""
        from elementafeeds.config.loader import load_workspace
        from elementafeeds.pipeline import status as library

        ws = common.call(load_workspace, common.workspace_dir(), as_json=as_json)
        data = common.call(library.run_errors, ws, run_id, as_json=as_json)
        if as_json:
            common.print_json(data)
        elif as_csv:
            write_csv(data["errors"], ERRORS)
        else:
            print_table(data["errors"], ERRORS, f"errors of run {run_id}", "no error records")
            if data["log_path"]:
                common.console.print(f"full log: {common.escape(data['log_path'])}")


_SHORT = {"created": "C", "updated": "U", "unchanged": "N", "skipped": "S", "failed": "F",
          "started_at": "started", "next_due": "next due", "error_summary": "summary"}


def _short(row: dict) -> dict:
    """Narrow cells for a terminal table (JSON and CSV keep the full values)."""
    out = {_SHORT.get(k, k): v for k, v in row.items()}
    for key in ("started", "next due"):
        if isinstance(out.get(key), str) and "T" in out[key]:
            out[key] = out[key][:16].replace("T", " ")
    if row.get("enabled") is False:
        out["status"] = f"{out.get('status') or '-'} (disabled)"
    return out
