"""Ambiguous writes never duplicate; a soak mode kills runs at random moments (-m soak)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.pipeline.test_run import assert_one_per_sku, run_json


def short_timeouts(root: Path) -> None:
    config = root / "connections" / "all.yaml"
    config.write_text(config.read_text().replace("timeout_s: 5", "timeout_s: 1"))


@pytest.mark.parametrize("faults", [
    {"gateway_timeout_after": {"rate": 0.4, "methods": "writes"}},
    {"hang_after_apply": {"rate": 0.4, "seconds": 1.5, "methods": "writes", "times": 2}},
    {"html_200": {"rate": 0.4, "phase": "after", "methods": "writes"}},
    {"malformed_json": {"rate": 0.4, "mode": "truncated", "methods": "writes"}},
    {"drop_connection": {"rate": 0.4, "phase": "after", "methods": "writes"}},
], ids=lambda f: next(iter(f)))
def test_ambiguous_answers_leave_each_product_exactly_once(workspace: Path, sandbox,
                                                           faults: dict) -> None:
    short_timeouts(workspace)
    sandbox.set_faults(faults, seed=12)
    code, run = run_json(workspace)
    assert code == 0, run
    assert run["created"] + run["updated"] == 120 and run["failed"] == 0
    assert sandbox.request_counts()["faults"].get(next(iter(faults)), 0) > 0  # it did fire
    assert_one_per_sku(sandbox, 120)


@pytest.mark.soak
def test_soak_random_kills_converge(workspace: Path, sandbox) -> None:
    rounds = int(os.environ.get("EF_SOAK_ROUNDS", "20"))
    rnd = random.Random(int(os.environ.get("EF_SOAK_SEED", "1")))
    sandbox.set_faults({"item_latency": {"seconds": 0.002}, "server_error": {"rate": 0.05}},
                       seed=rnd.randrange(1000))
    for _ in range(rounds):
        proc = subprocess.Popen([sys.executable, "-m", "elementafeeds", "-w", str(workspace),
                                 "run", "shop-feed", "--force"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rnd.uniform(0.2, 2.0))  # a random moment, not a wait for an event
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert_one_per_sku(sandbox, len({p["sku"].lower() for p in sandbox.products()}))
    sandbox.clear_faults()
    code, run = run_json(workspace, "--force")
    assert code == 0 and run["failed"] == 0
    assert_one_per_sku(sandbox, 120)
