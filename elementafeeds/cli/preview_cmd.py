"""`ef preview NAME`: a feed's first records, how it was read, and its warnings.

NAME is a feed of the workspace, a connection (its preview comes from the rules layer), or —
handy for an operator trying a new feed — a path or an http(s) URL. Feed text is shown inert:
escape sequences and control characters are made visible, never sent to the terminal, and
rich markup in data is never interpreted (cells are `Text` objects).
"""

from __future__ import annotations

import dataclasses
import json
import re
import sys
from pathlib import Path
from typing import Any

import typer

from elementafeeds.cli import common
from elementafeeds.exit_codes import ExitCode

CELL_CHARS = 60
MIN_COLUMN = 12
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069"
                     "\u2028\u2029]")
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def inert(text: str) -> str:
    """Text that cannot drive a terminal: escapes and control characters shown as \\xNN."""
    text = _ANSI.sub(lambda m: m.group().replace("\x1b", "\\x1b"), text)
    text = text.replace("\r\n", "\n").replace("\n", " ↵ ").replace("\t", " ")
    return _UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                       else f"\\u{ord(m.group()):04x}", text)


def cell(value: Any, limit: int = CELL_CHARS) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False,
                                                           default=str)
    text = inert(text)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def print_safe_json(data: Any) -> None:
    """JSON on stdout with C1 controls and bidi overrides escaped (json leaves them raw)."""
    text = json.dumps(data, ensure_ascii=False, indent=2, default=str)
    text = _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _looks_like_source(name: str) -> bool:
    return name.lower().startswith(("http://", "https://", "file://")) or Path(name).exists()


def _adhoc_feed(name: str) -> Any:
    from elementafeeds.config.models import Feed

    url = name if "://" in name else str(Path(name).resolve())
    return Feed(kind="feed", name="preview", url=url)


def _target(name: str) -> tuple[str, Any, Any]:
    """("feed", Feed, workspace|None) or ("connection", name, workspace)."""
    from elementafeeds.config.loader import _did_you_mean, load_workspace
    from elementafeeds.errors import ConfigError, UsageError

    try:
        workspace = load_workspace(common.workspace_dir())
    except ConfigError:
        if _looks_like_source(name):
            return "feed", _adhoc_feed(name), None
        raise
    if name in workspace.feeds:
        return "feed", workspace.feeds[name], workspace
    if name in workspace.connections:
        return "connection", name, workspace
    if _looks_like_source(name):
        return "feed", _adhoc_feed(name), workspace
    hint = _did_you_mean(name, [*workspace.feeds, *workspace.connections])
    raise UsageError(f"unknown feed or connection '{name}' (nor a file or a URL)",
                     hint=hint or "ef validate lists the workspace's documents")


def _render(preview: Any, width: int) -> None:
    from rich.table import Table
    from rich.text import Text

    console = common.console
    head = Text()
    head.append(f"{preview.format}", style="bold")
    if preview.encoding:
        head.append(f" · {preview.encoding}")
    if preview.dialect:
        d = preview.dialect
        head.append(f" · delimiter {d['delimiter']!r} · quote {d['quotechar']!r} · header "
                    f"{'yes' if d['header'] else 'no'}")
    if preview.record_path is not None:
        head.append(f" · records at {preview.record_path or '(one JSON object per line)'}")
    if preview.compression:
        head.append(f" · {preview.compression}")
    console.print(Text(inert(preview.source), style="dim"))
    console.print(head)
    columns = preview.columns
    if preview.records:
        number = len(str(len(preview.records)))
        room = max(MIN_COLUMN + 3, width - number - 4)
        fit = max(1, min(len(columns), room // (MIN_COLUMN + 3)))
        shown = columns[:fit]
        table = Table(show_lines=False, expand=False)
        table.add_column("#", justify="right", no_wrap=True, style="dim", min_width=number)
        for column in shown:
            table.add_column(Text(cell(column, 30)), no_wrap=True, overflow="ellipsis",
                             max_width=max(MIN_COLUMN, room // fit - 3))
        for n, record in enumerate(preview.records, start=1):
            table.add_row(str(n), *(Text(cell(record.get(c))) for c in shown))
        console.print(table)
        more = len(columns) - fit
        n, m = len(preview.records), len(columns)
        tail = f"{n} record{'s' * (n != 1)}, {m} column{'s' * (m != 1)}"
        if more > 0:
            tail += f" ({more} not shown: " + ", ".join(cell(c, 30) for c in columns[fit:fit + 8])
            tail += (", …" if more > 8 else "") + "; --json shows every column)"
        console.print(Text(tail, style="dim"))
    if preview.warnings:
        console.print(Text(f"{len(preview.warnings)} warning(s):", style="yellow"))
        for w in preview.warnings:
            where = []
            if w.record is not None:
                where.append(f"record {w.record}")
            if w.column is not None:
                where.append(f"column {cell(w.column, 40)}")
            prefix = ", ".join(where) + ": " if where else ""
            console.print(Text("  " + prefix + inert(w.message)), soft_wrap=True)


def _connection_preview(workspace: Any, name: str, rows: int, as_json: bool) -> None:
    from elementafeeds.errors import UsageError

    try:
        from elementafeeds.rules.preview import preview_connection
    except ModuleNotFoundError as exc:
        if exc.name not in ("elementafeeds.rules.preview", "elementafeeds.rules"):
            raise
        raise UsageError("connection preview not available yet",
                         hint=f"preview its feed instead: ef preview "
                              f"{workspace.connections[name].feed}") from None
    result = preview_connection(workspace, name, rows)
    data = result.as_dict() if hasattr(result, "as_dict") else (
        dataclasses.asdict(result) if dataclasses.is_dataclass(result) else result)
    if as_json or not isinstance(data, dict) or "records" not in data:
        print_safe_json(data)
    else:
        _render_connection(data, common.console.width)


def _render_connection(data: dict[str, Any], width: int) -> None:
    """The rules layer's report: a verdict per record, then the summary."""
    from rich.table import Table
    from rich.text import Text

    console = common.console
    preset = data.get("preset") or {}
    console.print(Text(f"{cell(data.get('connection'))} → {cell(data.get('site'))} "
                       f"({cell(data.get('platform'))}, preset {cell(preset.get('name'))})",
                       style="bold"))
    table = Table(expand=False)
    table.add_column("#", justify="right", style="dim", no_wrap=True)
    table.add_column("verdict", no_wrap=True)
    table.add_column("sku", no_wrap=True, overflow="ellipsis", max_width=max(12, width // 4))
    table.add_column("detail", no_wrap=True, overflow="ellipsis",
                     max_width=max(20, width - width // 4 - 25))
    for row in data.get("records") or []:
        payload = row.get("payload") or {}
        if row.get("verdict") == "send":
            detail = " · ".join(cell(payload.get(k), 50) for k in ("name", "title",
                                "regular_price") if payload.get(k))
        else:
            detail = cell(row.get("reason") or row.get("code"), 200)
        style = {"send": "green", "failed": "red"}.get(str(row.get("verdict")), "yellow")
        table.add_row(str(row.get("record", "")), Text(cell(row.get("verdict")), style=style),
                      Text(cell(row.get("sku"), 80)), Text(detail))
    console.print(table)
    summary = data.get("summary") or {}
    counts = ", ".join(f"{summary.get(k, 0)} {k}" for k in ("send", "filtered", "skipped",
                                                             "failed"))
    console.print(Text(f"{summary.get('records', 0)} records: {counts}"))
    for reason in summary.get("top_reasons") or []:
        console.print(Text(f"  {reason.get('count')}× {cell(reason.get('verdict'))}: "
                           f"{cell(reason.get('reason'), 120)}", style="dim"))
    unmapped = summary.get("unmapped_categories") or []
    if unmapped:
        console.print(Text("unmapped categories:", style="yellow"))
        for item in unmapped:
            console.print(Text(f"  {item.get('count')}× {cell(item.get('path'), 120)}"))


def register(app: typer.Typer) -> None:
    @app.command(
        "preview",
        epilog="Examples:\n\n  ef preview hemtex\n\n  ef preview hemtex --rows 20 --json\n\n"
               "  ef preview https://example.com/feed.csv.gz",
    )
    def preview(
        name: str = typer.Argument(..., help="A feed or connection of the workspace, or a "
                                   "path or http(s) URL."),
        rows: int = typer.Option(100, "--rows", "-n", min=1, max=100_000,
                                 help="Records to show."),
        as_json: bool = typer.Option(False, "--json", help="Print the preview as JSON."),
    ) -> None:
        """Show a feed's first records, its detected format, encoding and dialect, and
        warnings; reads only the bytes it needs (exit 4: unreachable, 2: unreadable)."""
        with common.handle_errors(as_json):
            kind, target, workspace = _target(name)
            if kind == "connection":
                _connection_preview(workspace, target, rows, as_json)
                return
            from elementafeeds.feeds.preview import preview_feed

            root = workspace.root if workspace is not None else Path.cwd()
            result = preview_feed(target, root, rows)
        if as_json:
            print_safe_json(result.as_dict())
        else:
            _render(result, common.console.width)
        if result.is_html:
            raise typer.Exit(int(ExitCode.INVALID))
