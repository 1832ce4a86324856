"""`ef check` against the sandbox: a healthy site, wrong credentials, a closed port."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from tests.pipeline.conftest import ef


def check(root: Path, env: dict | None = None) -> tuple[int, dict]:
    result = ef(root, "check", "--json", env=env)
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, json.loads(result.stdout)["sites"][0]


def test_healthy_site(workspace: Path, sandbox) -> None:
    code, site = check(workspace)
    assert code == 0
    assert site["reachable"] and site["auth_ok"] and site["can_write"]
    assert "WooCommerce" in (site["version"] or "")


def test_wrong_secret_exits_4_with_a_message(workspace: Path, sandbox) -> None:
    code, site = check(workspace, env={"T_SECRET": "wrong-canary-secret"})
    assert code == 4 and not site["auth_ok"] and site["message"]
    assert "wrong-canary-secret" not in json.dumps(site)


def test_unreachable_site_exits_4(workspace: Path, sandbox) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = workspace / "connections" / "all.yaml"
    config.write_text(config.read_text().replace(sandbox.url, f"http://127.0.0.1:{port}"))
    code, site = check(workspace)
    assert code == 4 and not site["reachable"]
