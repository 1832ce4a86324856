"""The rules benchmark still runs (tiny size), so its figures can be reproduced."""

from __future__ import annotations

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_rules.py"


def test_benchmark_runs_on_a_small_feed():
    spec = importlib.util.spec_from_file_location("bench_rules", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = module.bench(0.3, html=True, chunk=100, repeat=1)
    assert result["records"] > 50
    assert result["send"] > 0 and result["filtered"] > 0 and result["skipped"] > 0
    assert result.get("failed", 0) == 0
    assert result["rules_us"] > 0 and result["ratio"] > 0
