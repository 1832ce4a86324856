"""CSV exports neutralise cells a spreadsheet would run as a formula."""

from __future__ import annotations

import pytest

from elementafeeds.cli.tables import csv_safe


@pytest.mark.parametrize("cell", ["=HYPERLINK(\"http://x\")", "+1+1", "-2", "@SUM(A1)",
                                  "\tx", "\rx"])
def test_formula_cells_are_quoted(cell: str) -> None:
    assert csv_safe(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["SKU-1", "12.90", "", None, "a=b"])
def test_ordinary_cells_are_unchanged(cell) -> None:
    assert csv_safe(cell) == ("" if cell is None else cell)
