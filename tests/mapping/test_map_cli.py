"""`ef map` through the command line: in-process (CliRunner) and once as a real subprocess."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from elementafeeds.cli.app import app

from .conftest import CONNECTION, KEY_ENV, SECRET_ENV

runner = CliRunner()
NAME = "hemtex-to-shop"


def ef(root: Path, *args: str, input: str | None = None) -> Any:
    return runner.invoke(app, ["-w", str(root), "map", NAME, *args], input=input)


def test_help_has_examples() -> None:
    result = runner.invoke(app, ["map", "--help"])
    assert result.exit_code == 0
    assert "Examples:" in result.stdout and "--create-missing" in result.stdout


def test_suggestions_print_as_yaml_on_stdout(shop: Any, make_workspace: Any) -> None:
    root = make_workspace(shop.url, key=shop.key, secret=shop.secret)
    result = ef(root)
    assert result.exit_code == 0, result.output
    snippet = yaml.safe_load(result.stdout)
    assert snippet["categories"]["map"]["Vaatteet > Paidat"] == ["Vaatteet > Paidat"]
    assert {"name": "Väri", "from": "colour"} in snippet["attributes"]
    assert "# score 100 · 6 records" in result.stdout
    assert "coverage: 8/22 records mapped now (36%), 20/22 with the suggestions" in \
        result.stderr
    assert (root / "connections" / "hemtex.yaml").read_text() == CONNECTION


def test_json_report_shape(shop: Any, make_workspace: Any) -> None:
    root = make_workspace(shop.url, key=shop.key, secret=shop.secret)
    result = ef(root, "--json", "--categories", "--sample", "10")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert set(report) >= {"connection", "site", "feed", "platform", "file", "records",
                           "sample", "sampled", "min_score", "categories", "fields",
                           "attributes", "yaml", "write", "create", "applied", "problems"}
    assert report["records"] == 10 and report["sampled"] is True
    assert report["fields"] is None and report["attributes"] is None
    row = report["categories"]["paths"][0]
    assert set(row) == {"path", "records", "current", "current_via", "suggestion",
                        "alternatives", "accepted"}
    assert set(report["categories"]["coverage"]) >= {"records", "mapped_now",
                                                     "mapped_with_suggestions"}


def test_write_shows_the_diff_and_asks(shop: Any, make_workspace: Any) -> None:
    root = make_workspace(shop.url, key=shop.key, secret=shop.secret)
    path = root / "connections" / "hemtex.yaml"
    declined = ef(root, "--write", input="n\n")
    assert declined.exit_code == 0, declined.output
    assert '+    "Vaatteet > Paidat": [Vaatteet > Paidat]' in declined.stdout
    assert "Apply these changes?" in declined.stderr and "nothing changed" in declined.stderr
    assert path.read_text() == CONNECTION
    accepted = ef(root, "--write", input="y\n")
    assert accepted.exit_code == 0, accepted.output
    assert "wrote connections/hemtex.yaml: 5 added" in accepted.stderr
    assert '"Vaatteet > Paidat": [Vaatteet > Paidat]' in path.read_text()


def test_write_yes_does_not_ask(shop: Any, make_workspace: Any) -> None:
    root = make_workspace(shop.url, key=shop.key, secret=shop.secret)
    result = ef(root, "--write", "--yes", "--attributes")
    assert result.exit_code == 0, result.output
    assert "Apply these changes?" not in result.output
    assert "+  - {name: Väri, from: colour}" in result.stdout
    conn = list(yaml.safe_load_all((root / "connections" / "hemtex.yaml").read_text()))[1]
    assert conn["attributes"] == [{"name": "Koko", "from": "Fashion:size", "split": ","},
                                  {"name": "Väri", "from": "colour"}]
    assert conn["categories"]["map"] == {"Koti > Tekstiilit": ["Kodintekstiilit"]}


def test_write_without_an_answer_is_a_usage_error(shop: Any, make_workspace: Any) -> None:
    root = make_workspace(shop.url, key=shop.key, secret=shop.secret)
    result = ef(root, "--write", input="")
    assert result.exit_code == 2
    assert "pass --yes" in result.stderr and "Traceback" not in result.output


def test_wrong_credentials_exit_4_without_traceback(shop: Any, make_workspace: Any) -> None:
    root = make_workspace(shop.url, key="ck_nope", secret="cs_nope")
    result = ef(root)
    assert result.exit_code == 4
    assert "error:" in result.stderr and "Traceback" not in result.output
    assert "cs_nope" not in result.output


def test_unreachable_site_exit_4(make_workspace: Any) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    root = make_workspace(f"http://127.0.0.1:{port}")
    result = ef(root, "--categories", "--json")
    assert result.exit_code == 4
    assert json.loads(result.stdout)["exit_code"] == 4
    assert "could not connect" in json.loads(result.stdout)["error"]


def test_unknown_connection_exit_2(make_workspace: Any) -> None:
    root = make_workspace("https://shop.example")
    result = runner.invoke(app, ["-w", str(root), "map", "nope"])
    assert result.exit_code == 2 and "unknown connection 'nope'" in result.stderr


def test_real_subprocess_write_yes(shop: Any, make_workspace: Any) -> None:
    root = make_workspace(shop.url, key=shop.key, secret=shop.secret)
    env = {**os.environ, KEY_ENV: shop.key, SECRET_ENV: shop.secret, "NO_COLOR": "1"}
    env.pop("EF_WORKSPACE", None)
    proc = subprocess.run(
        [sys.executable, "-m", "elementafeeds", "-w", str(root), "map", NAME, "--write",
         "--yes", "--create-missing"],
        cwd=root, capture_output=True, text=True, env=env, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "created 1 category on site shop" in proc.stderr  # "Lelut", mirrored
    assert "wrote connections/hemtex.yaml" in proc.stderr
    conn = list(yaml.safe_load_all((root / "connections" / "hemtex.yaml").read_text()))[1]
    assert conn["categories"]["map"]["Lelut"] == ["Lelut"]
    assert any(t["name"] == "Lelut" for t in shop.terms())


def test_json_write_yes_keeps_stdout_pure_json(shop: Any, make_workspace: Any) -> None:
    root = make_workspace(shop.url, key=shop.key, secret=shop.secret)
    result = ef(root, "--json", "--write", "--yes", "--categories")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["applied"] is True and report["write"]["written"] is True
    assert report["write"]["added"] == ["categories.map['Vaatteet > Paidat']",
                                        "categories.map['Koti > Sisustus > Tyynyt']",
                                        "categories.map['Vaatteet > Housut']"]
    assert report["write"]["diff"].startswith("--- a/connections/hemtex.yaml")
