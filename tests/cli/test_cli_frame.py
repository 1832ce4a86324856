"""The `ef` command frame: version, help, validate, schema, init — in-process and as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from elementafeeds import __version__
from elementafeeds.cli.app import app

runner = CliRunner()
REPO = Path(__file__).resolve().parents[2]


def ef(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "elementafeeds", *args],
        cwd=cwd or REPO, capture_output=True, text=True, env={**os.environ, **(env or {})},
        timeout=60,
    )


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and __version__ in result.stdout


def test_every_command_has_help_with_text() -> None:
    for command in app.registered_commands:
        name = command.name or command.callback.__name__
        result = runner.invoke(app, [name, "--help"])
        assert result.exit_code == 0, name
        assert (command.callback.__doc__ or "").strip(), f"ef {name} has no help text"


def test_validate_examples_in_process() -> None:
    result = runner.invoke(app, ["-w", str(REPO / "examples"), "validate"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ok: 1 site(s)")


def test_five_mistakes_in_three_files_are_all_reported(tmp_path: Path) -> None:
    conn = tmp_path / "connections"
    (conn / "awin").mkdir(parents=True)
    (conn / "sites.yaml").write_text(
        "kind: site\nname: shop\nurl: https://shop.example\ncountry: US\n"       # 1: country
        "credentials: {consumer_key: '${K}', consumer_secret: '${S}'}\n"
    )
    (conn / "awin" / "feed.yaml").write_text(
        "kind: feed\nname: f1\nurl: a.csv\nformat: yml\n"                       # 2: format
    )
    (conn / "awin" / "conn.yaml").write_text(
        "kind: connection\nname: c1\nfeed: f1\nsite: shopp\n"                   # 3: site ref
        "sku: '{id}'\nschedule: 'every day'\n"                                  # 4: cron
        "filters:\n  rules:\n    - {field: a, op: regex, value: '(x'}\n"        # 5: regex
    )
    result = ef("-w", str(tmp_path), "validate")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = [l for l in result.stderr.splitlines() if ": " in l and "problems found" not in l]
    located = {(Path(l.split(":")[0]).name, int(l.split(":")[1])) for l in lines}
    assert located == {("sites.yaml", 4), ("feed.yaml", 4), ("conn.yaml", 4),
                       ("conn.yaml", 6), ("conn.yaml", 9)}, result.stderr
    assert "5 problems found" in result.stderr


def test_validate_json_output(tmp_path: Path) -> None:
    (tmp_path / "connections").mkdir()
    (tmp_path / "connections" / "a.yaml").write_text("kind: feed\nname: f\nurl: a.csv\nbogus: 1\n")
    result = runner.invoke(app, ["-w", str(tmp_path), "validate", "--json"])
    assert result.exit_code == 2
    data = json.loads(result.stdout)
    assert data["ok"] is False and data["problems"][0]["line"] == 4


def test_workspace_from_environment(tmp_path: Path) -> None:
    result = ef("validate", cwd=tmp_path, env={"EF_WORKSPACE": str(REPO / "examples")})
    assert result.returncode == 0, result.stderr


def test_missing_workspace_is_a_clean_error(tmp_path: Path) -> None:
    result = ef("-w", str(tmp_path), "validate")
    assert result.returncode == 2 and "no connections/ folder" in result.stderr
    assert "Traceback" not in result.stderr


def test_schema_command_prints_json(tmp_path: Path) -> None:
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["title"] == "ElementaFeeds workspace document"


def test_init_creates_a_valid_workspace_and_refuses_to_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "new"
    assert runner.invoke(app, ["init", str(target)]).exit_code == 0
    assert (target / ".gitignore").read_text().strip() == ".ef/"
    assert runner.invoke(app, ["-w", str(target), "validate"]).exit_code == 0
    again = ef("init", str(target))
    assert again.returncode == 2 and "never overwrites" in again.stderr


def test_init_template_matches_the_bundled_example() -> None:
    template = REPO / "elementafeeds" / "config" / "template"
    for rel in ["connections/sites.yaml", "connections/hemtex.yaml", "feeds/products.csv",
                "ef.yaml"]:
        assert (template / rel).read_bytes() == (REPO / "examples" / rel).read_bytes(), rel


@pytest.mark.parametrize("args", [["validate", "--help"], ["--help"]])
def test_help_does_not_crash(args: list[str]) -> None:
    assert ef(*args).returncode == 0
