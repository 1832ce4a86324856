"""What every command shares: the workspace option's value, consoles, and error rendering.

Commands are adapters: they parse options, call one library function and render the result.
Library errors arrive as `ElementaFeedsError` and leave as a message and an exit code, never as
a traceback.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console

from elementafeeds.errors import ConfigError, ElementaFeedsError
from elementafeeds.exit_codes import ExitCode

T = TypeVar("T")


def _no_color() -> bool:
    return bool(os.environ.get("NO_COLOR"))


# Feed text is shown inert: markup and emoji codes in data are never interpreted.
console = Console(highlight=False, no_color=_no_color(), emoji=False, markup=True)
err_console = Console(stderr=True, highlight=False, no_color=_no_color(), emoji=False)


@dataclass
class AppState:
    """Global options, set by the main callback and read by every command."""

    workspace: Path = field(default_factory=Path.cwd)
    verbose: int = 0


state = AppState()


def workspace_dir() -> Path:
    return state.workspace


def print_json(data: Any) -> None:
    """Machine output: plain JSON on stdout, never styled."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")
    sys.stdout.flush()


def fail(message: str, code: ExitCode = ExitCode.INVALID, hint: str | None = None) -> None:
    err_console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    if hint:
        err_console.print(f"[dim]hint:[/] {escape(hint)}", soft_wrap=True)
    raise typer.Exit(int(code))


def escape(text: str) -> str:
    from rich.markup import escape as _escape

    return _escape(text)


def report_error(exc: ElementaFeedsError, as_json: bool = False) -> None:
    """Render a library error for an operator (or as JSON) and exit with its code."""
    if as_json:
        payload: dict[str, Any] = {"error": exc.message, "exit_code": int(exc.exit_code)}
        if exc.hint:
            payload["hint"] = exc.hint
        if isinstance(exc, ConfigError):
            payload["problems"] = [p.as_dict() for p in exc.problems]
        print_json(payload)
        raise typer.Exit(int(exc.exit_code))
    if isinstance(exc, ConfigError):
        for problem in exc.problems:
            err_console.print(escape(problem.render()), soft_wrap=True)
        n = len(exc.problems)
        err_console.print(f"[bold red]{n} problem{'s' * (n != 1)} found[/]")
        raise typer.Exit(int(exc.exit_code))
    fail(exc.message, exc.exit_code, exc.hint)


@contextmanager
def handle_errors(as_json: bool = False) -> Iterator[None]:
    """Turn library errors into a clean message and the documented exit code."""
    try:
        yield
    except ElementaFeedsError as exc:
        report_error(exc, as_json)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        raise typer.Exit(130) from None


def call(fn: Callable[..., T], *args: Any, as_json: bool = False, **kwargs: Any) -> T:
    with handle_errors(as_json):
        return fn(*args, **kwargs)
    raise AssertionError("unreachable")  # pragma: no cover
