"""`ef sandbox` as operators run it: a real process, real port, Ctrl-C, data kept on restart."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from sandbox_clients import OAuth1
from typer.testing import CliRunner

from elementafeeds.cli.app import app

ENTRY = "from elementafeeds.cli.app import main; main()"


@contextmanager
def ef_sandbox(*args: str) -> Iterator[tuple[str, list[str]]]:
    """Start `ef sandbox ARGS`; yield its URL and the lines printed so far; Ctrl-C it."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "NO_COLOR": "1", "COLUMNS": "200"}
    proc = subprocess.Popen([sys.executable, "-c", ENTRY, "sandbox", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 15
        url = None
        while url is None:
            assert time.monotonic() < deadline and proc.poll() is None, "".join(lines)
            line = proc.stdout.readline()  # type: ignore[union-attr]
            lines.append(line)
            found = re.search(r"serving (http://\S+)", line)
            url = found.group(1) if found else None
        while "Ctrl-C" not in lines[-1]:
            lines.append(proc.stdout.readline())  # type: ignore[union-attr]
        yield url, lines
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0


def test_standalone_server_serves_prints_credentials_and_keeps_data(tmp_path: Path) -> None:
    db = tmp_path / "site.db"
    with ef_sandbox("--port", "0", "--db", str(db), "--post-type", "hotels") as (url, lines):
        text = "".join(lines)
        assert "ck_sandbox" in text and "cs_sandbox" in text and "hotels" in text
        made = httpx.post(f"{url}/wp-json/wc/v3/products", json={"name": "Kept", "sku": "K1"},
                          auth=OAuth1("ck_sandbox", "cs_sandbox"))
        assert made.status_code == 201
        anonymous = httpx.get(f"{url}/wp-json/wc/v3/products")
        assert anonymous.status_code == 401
    with ef_sandbox("--port", "0", "--db", str(db), "--lenient-auth") as (url, _):
        kept = httpx.get(f"{url}/wp-json/wc/v3/products", auth=("ck_sandbox", "cs_sandbox"))
        assert [p["sku"] for p in kept.json()] == ["K1"]


def test_faults_and_custom_credentials_from_flags(tmp_path: Path) -> None:
    args = ("--port", "0", "--db", str(tmp_path / "f.db"), "--key", "ck_other",
            "--secret", "cs_other", "--fault", "rate_limit:retry_after=9,methods=POST")
    with ef_sandbox(*args) as (url, lines):
        assert "rate_limit" in "".join(lines)
        auth = OAuth1("ck_other", "cs_other")
        assert httpx.get(f"{url}/wp-json/wc/v3/products", auth=auth).status_code == 200
        limited = httpx.post(f"{url}/wp-json/wc/v3/products", json={}, auth=auth)
        assert limited.status_code == 429 and limited.headers["retry-after"] == "9"


def test_bad_flags_and_busy_port_are_usage_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    bad = runner.invoke(app, ["sandbox", "--db", str(tmp_path / "x.db"), "--fault", "nope"])
    assert bad.exit_code == 2 and "unknown fault" in bad.output
    with ef_sandbox("--port", "0", "--db", str(tmp_path / "a.db")) as (url, _):
        port = url.rsplit(":", 1)[1]
        busy = runner.invoke(app, ["sandbox", "--port", port, "--db", str(tmp_path / "b.db")])
        assert busy.exit_code == 2 and "cannot listen" in busy.output


def test_help_has_examples() -> None:
    result = CliRunner().invoke(app, ["sandbox", "--help"])
    assert result.exit_code == 0
    assert "Examples:" in result.output and "--fault" in result.output
