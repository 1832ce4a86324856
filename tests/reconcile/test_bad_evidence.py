"""Bad evidence never removes products: each broken feed ends the run failed (or guarded),
and zero stale actions follow from it."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from tests.pipeline.conftest import ef, write_feed
from tests.reconcile.test_reconcile import reconcile, visibility


def truncated_gzip(path: Path) -> None:
    data = gzip.compress(path.read_bytes())
    path.write_bytes(data[: len(data) // 2])


def unbalanced_quote(path: Path) -> None:
    lines = path.read_text().splitlines(keepends=True)
    broken = 'P99999,"Broken name,12,Koti,https://aff.example/x,Red,yes\n'  # never closed
    rows = [f"Q{i:05d},Tuote,12,Koti,https://aff.example/q,Red,yes\n" for i in range(30000)]
    path.write_text("".join(lines[:4] + [broken] + rows + lines[4:]))


BROKEN = {
    "empty": lambda p: p.write_text(""),
    "header_only": lambda p: p.write_text(p.read_text().splitlines()[0] + "\n"),
    "html_page": lambda p: p.write_text("<!DOCTYPE html><html><head><title>502 Bad Gateway"
                                        "</title></head><body>oops</body></html>"),
    "truncated_gzip": truncated_gzip,
    "json_cut": lambda p: p.write_text(json.dumps(
        [{"merchant_product_id": f"P{i:05d}"} for i in range(50)])[:700]),
    "xml_cut": lambda p: p.write_text("<?xml version='1.0'?><products>" + "".join(
        f"<product><merchant_product_id>P{i:05d}</merchant_product_id></product>"
        for i in range(50))[:900]),
    "unbalanced_quote": unbalanced_quote,
}


@pytest.mark.parametrize("breakage", sorted(BROKEN))
def test_a_broken_feed_is_no_evidence(workspace: Path, sandbox, breakage: str) -> None:
    feed = workspace / "feeds" / "products.csv"
    assert ef(workspace, "run", "shop-feed").returncode == 0
    (workspace / "ef.yaml").write_text(
        "defaults: {workers: 1, chunk_size: 50}\n")
    BROKEN[breakage](feed)
    result = ef(workspace, "run", "shop-feed", "--json")
    assert "Traceback" not in result.stderr
    run = json.loads(result.stdout)["runs"][0]
    assert run["status"] == "failed", run
    assert result.returncode in (1, 2)
    assert run["error_summary"]
    code, verdict = reconcile(workspace)
    assert verdict["stale"] == 0 and verdict["applied"] == 0
    assert "hidden" not in visibility(sandbox).values()


def test_a_feed_that_shrank_by_90_percent_is_guarded(workspace: Path, sandbox) -> None:
    assert ef(workspace, "run", "shop-feed").returncode == 0
    write_feed(workspace / "feeds" / "products.csv", 120, skip=set(range(12, 120)))
    assert ef(workspace, "run", "shop-feed").returncode == 0
    code, verdict = reconcile(workspace)
    assert code == 1 and "max_share" in verdict["refused"] and verdict["applied"] == 0
    assert "hidden" not in visibility(sandbox).values()
