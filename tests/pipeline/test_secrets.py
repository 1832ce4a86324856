"""A canary secret never leaves the process: not in output, logs, state or error records."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.pipeline.conftest import ef

CANARY = "cs_CANARY_5f1e9d0b7a"


def leaks(root: Path, *outputs: str) -> list[str]:
    found = [f"output {i}" for i, text in enumerate(outputs) if CANARY in text]
    for path in (root / ".ef").rglob("*"):
        if path.is_file() and CANARY.encode() in path.read_bytes():
            found.append(str(path))
    return found


@pytest.mark.parametrize("faults", [
    {},
    {"server_error": {"rate": 0.5}},
    {"gateway_timeout_after": {"rate": 0.5}},
    {"hang_after_apply": {"rate": 0.3, "seconds": 10}},
])
def test_wrong_canary_secret_never_leaks(workspace: Path, sandbox, faults: dict) -> None:
    sandbox.set_faults(faults, seed=3)
    results = [ef(workspace, "-v", "run", "shop-feed", *extra, env={"T_SECRET": CANARY})
               for extra in ([], ["--json"])]
    assert all(r.returncode == 4 for r in results), [r.stdout[-300:] for r in results]
    outputs = [t for r in results for t in (r.stdout, r.stderr)]
    outputs += [ef(workspace, "status", "--json").stdout,
                ef(workspace, "errors", "1", "--json").stdout,
                ef(workspace, "check", "--json", env={"T_SECRET": CANARY}).stdout]
    assert leaks(workspace, *outputs) == []


def test_real_secret_through_faults_and_a_crash_never_leaks(workspace: Path, sandbox,
                                                          monkeypatch) -> None:
    monkeypatch.setenv("T_SECRET", sandbox.secret)
    sandbox.set_faults({"server_error": {"rate": 0.3}, "drop_connection": {"rate": 0.1}}, seed=5)
    crashed = ef(workspace, "run", "shop-feed", env={"EF_CRASH_AT": "before_batch_sent:3"})
    done = ef(workspace, "-v", "run", "shop-feed", "--json")
    secret = sandbox.secret
    for text in (crashed.stdout, crashed.stderr, done.stdout, done.stderr):
        assert secret not in text
    for path in (workspace / ".ef").rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
