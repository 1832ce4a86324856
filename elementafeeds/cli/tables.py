"""Tabular output shared by status-like commands: rich tables, and spreadsheet-safe CSV."""

from __future__ import annotations

import csv
import sys
from collections.abc import Sequence
from typing import Any

from rich.table import Table

from elementafeeds.cli import common

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> str:
    """Neutralise cells a spreadsheet would run as a formula (CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def write_csv(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
    writer = csv.writer(sys.stdout)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_safe(row.get(c)) for c in columns])


def print_table(rows: Sequence[dict[str, Any]], columns: Sequence[str], title: str | None = None,
                empty: str = "nothing to show") -> None:
    if not rows:
        common.console.print(empty)
        return
    table = Table(title=title)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(common.escape(_cell(row.get(c))) for c in columns))
    common.console.print(table)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "".join(ch if ch.isprintable() else "?" for ch in str(value))
