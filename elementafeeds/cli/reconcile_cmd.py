"""`ef reconcile`: act on products the feeds no longer have, safely."""

from __future__ import annotations

from typing import List, Optional

import typer

from elementafeeds.cli import common
from elementafeeds.cli.run_cmd import overall_exit
from elementafeeds.cli.tables import print_table

EPILOG = """Examples:

  ef reconcile hemtex-to-kaikkimerkit --dry-run

  ef reconcile --all            (nightly cron, after ef run --due)

  ef reconcile shop-feed --from-site --dry-run --json   (state file lost)
"""


def register(app: typer.Typer) -> None:
    @app.command("reconcile", epilog=EPILOG)
    def reconcile(
        connections: Optional[List[str]] = typer.Argument(None, help="Connections to reconcile."),
        all_: bool = typer.Option(False, "--all", help="Every enabled connection with a stale action."),
        dry_run: bool = typer.Option(False, "--dry-run", help="List what would happen; change nothing."),
        force: bool = typer.Option(False, "--force", help="Act even above stale.max_share."),
        from_site: bool = typer.Option(
            False, "--from-site", help="Find products by the site's own meta (no ledger needed)."
        ),
        as_json: bool = typer.Option(False, "--json", help="Print JSON (with SKUs and ids)."),
    ) -> None:
        """Hide, zero, draft or delete products that no complete run has seen for stale.after_days."""
        from contextlib import ExitStack

        from elementafeeds.pipeline.sites import destination_factory, embedded_sandbox
        from elementafeeds.reconcile.run import reconcile as library, selectable
        from elementafeeds.rules.workspace_check import load_valid_workspace

        ws = common.call(load_valid_workspace, common.workspace_dir(), as_json=as_json)
        names = common.call(selectable, ws, list(connections or []), all_, as_json=as_json)
        with ExitStack() as stack:
            sites = stack.enter_context(embedded_sandbox(
                ws, [ws.connections[n].site for n in names]))
            reports = common.call(library, ws, names, dry_run=dry_run, force=force,
                                  from_site=from_site, destination_factory=destination_factory(),
                                  sites=sites, as_json=as_json)
        if as_json:
            common.print_json({"connections": [r.as_dict() for r in reports]})
        else:
            rows = [r.as_dict() for r in reports]
            for row in rows:
                row["share"] = f"{row['share']:.1%}"
            print_table(rows, ("connection", "action", "total", "stale", "share", "applied",
                               "failed", "refused", "error"),
                        "reconcile (dry run)" if dry_run else "reconcile",
                        "no connection with a stale action")
            for report in reports:
                for warning in report.warnings:
                    common.err_console.print(f"warning: {common.escape(report.connection)}: "
                                             f"{common.escape(warning)}", soft_wrap=True)
        raise typer.Exit(int(overall_exit([r.exit_code for r in reports])))
