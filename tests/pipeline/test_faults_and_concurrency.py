"""A killed pool worker fails the run cleanly; ten runs at once: one runs, nine exit 3."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from tests.pipeline.test_run import assert_one_per_sku, run_json


def test_a_killed_pool_worker_fails_the_run_within_seconds(workspace: Path, sandbox) -> None:
    start = time.monotonic()
    code, run = run_json(workspace, "--workers", "2",
                         env={"EF_CRASH_AT": "worker_mid_chunk:2"})
    assert time.monotonic() - start < 30
    assert code == 1 and run["status"] == "failed"
    assert "worker process died" in run["error_summary"]
    code, run = run_json(workspace, "--workers", "2", "--force")
    assert code == 0 and run["failed"] == 0
    assert_one_per_sku(sandbox, 120)


def test_ten_runs_at_once_one_runs_nine_exit_3(workspace: Path, sandbox) -> None:
    sandbox.set_faults({"latency": {"seconds": 1.0}})
    procs = [subprocess.Popen([sys.executable, "-m", "elementafeeds", "-w", str(workspace),
                               "run", "shop-feed", "--json"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(10)]
    outputs = [p.communicate(timeout=180) for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes == [0] + [3] * 9, [out[-300:] + err[-300:] for out, err in outputs]
    for out, err in outputs:
        assert "database is locked" not in out + err
        assert "Traceback" not in err
    locked = [json.loads(out)["runs"][0] for out, _ in outputs
              if json.loads(out)["runs"][0]["status"] == "not_started"]
    assert len(locked) == 9 and all("is being run by pid" in r["error_summary"] for r in locked)
    sandbox.clear_faults()
    assert_one_per_sku(sandbox, 120)
