"""`ef check`: can each site be reached, and do its credentials work?"""

from __future__ import annotations

from typing import List, Optional

import typer

from elementafeeds.cli import common
from elementafeeds.cli.tables import print_table
from elementafeeds.exit_codes import ExitCode


def register(app: typer.Typer) -> None:
    @app.command("check", epilog="Examples:\n\n  ef check\n\n  ef check kaikkimerkit --json")
    def check(
        sites: Optional[List[str]] = typer.Argument(None, help="Sites to check (default: all)."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    ) -> None:
        """Credentials and API health of sites: reachable, auth, write access, version, latency."""
        from elementafeeds.pipeline.health import check_sites
        from elementafeeds.rules.workspace_check import load_valid_workspace

        ws = common.call(load_valid_workspace, common.workspace_dir(), as_json=as_json)
        results = common.call(check_sites, ws, list(sites or []), as_json=as_json)
        if as_json:
            common.print_json({"sites": results})
        else:
            print_table(results, ("site", "platform", "reachable", "auth_ok", "can_write",
                                  "version", "latency_ms", "message"), "sites")
        bad = any(not (r.get("reachable") and r.get("auth_ok")) for r in results)
        raise typer.Exit(int(ExitCode.UNREACHABLE if bad else ExitCode.OK))
