"""The `ef` command: global options, and the registration of every command module.

Each command lives in its own module under `elementafeeds.cli` with a `register(app)` function;
`ef --help` imports no plugin and no heavy library.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Optional

import typer

from elementafeeds import __version__
from elementafeeds.cli import common

app = typer.Typer(
    name="ef",
    help=(
        "ElementaFeeds: syndicate product feeds into WooCommerce stores and WordPress sites.\n\n"
        "Exit codes: 0 success, 1 finished with failures, 2 invalid configuration or usage, "
        "3 another run holds the lock, 4 a site or feed could not be reached."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,  # never show locals (they may hold secrets)
    add_completion=False,
    rich_markup_mode=None,
)

COMMAND_MODULES = [
    "init_cmd",
    "validate_cmd",
    "schema_cmd",
    "sandbox_cmd",
    "preview_cmd",
    "run_cmd",
    "status_cmd",
    "map_cmd",
    "reconcile_cmd",
    "check_cmd",
]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ef {__version__}")
        raise typer.Exit(0)


@app.callback()
def main_options(
    workspace: Optional[Path] = typer.Option(
        None,
        "--workspace",
        "-w",
        envvar="EF_WORKSPACE",
        help="Workspace directory (holds ef.yaml and connections/). Default: current directory.",
        file_okay=False,
    ),
    verbose: int = typer.Option(0, "--verbose", "-v", count=True, help="More detail (-vv: debug)."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    common.state.workspace = (workspace or Path(os.getcwd())).resolve()
    common.state.verbose = verbose


def _register_commands() -> None:
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"elementafeeds.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"elementafeeds.cli.{name}":
                continue  # not built yet
            raise
        module.register(app)


_register_commands()


def main() -> None:
    app()
