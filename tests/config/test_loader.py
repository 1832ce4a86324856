"""The workspace loader: good workspaces load, every kind of mistake is located."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from elementafeeds.config.loader import collect_workspace, load_workspace
from elementafeeds.config.settings import state_db_path
from elementafeeds.errors import ConfigError
from elementafeeds.rules.workspace_check import validate_workspace

REPO = Path(__file__).resolve().parents[2]

SITE = """\
kind: site
name: kaikkimerkit
url: https://kaikkimerkit.example
language: fi
country: FI
credentials:
  consumer_key: ${KAIKKI_WC_KEY}
  consumer_secret: ${KAIKKI_WC_SECRET}
"""
FEED = """\
kind: feed
name: hemtex
url: feeds/hemtex.csv
"""
CONNECTION = """\
kind: connection
name: hemtex-to-kaikkimerkit
feed: hemtex
site: kaikkimerkit
sku: "hemtex-{merchant_product_id}"
fields:
  name: "{product_name}"
"""


def write(root: Path, rel: str, text: str) -> Path:
    path = root / "connections" / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems_of(root: Path) -> list[str]:
    _, problems = collect_workspace(root)
    return [p.render() for p in problems]


def test_bundled_workspaces_are_valid() -> None:
    for root in (REPO / "examples", REPO):
        result = validate_workspace(root)
        assert result.problems == [], [p.render() for p in result.problems]
        assert result.workspace.connections


def test_documents_load_from_nested_files_and_several_per_file(tmp_path: Path) -> None:
    write(tmp_path, "sites.yaml", SITE)
    write(tmp_path, "awin/hemtex.yml", FEED + "---\n" + CONNECTION)
    ws = load_workspace(tmp_path)
    assert set(ws.sites) == {"kaikkimerkit"}
    assert ws.connections["hemtex-to-kaikkimerkit"].feed == "hemtex"
    assert ws.source("connection", "hemtex-to-kaikkimerkit").file.endswith("awin/hemtex.yml")


def test_unknown_key_is_located_with_a_suggestion(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", SITE + "---\n" + FEED + "---\n" + CONNECTION + "filtres: {}\n")
    [message] = problems_of(tmp_path)
    assert "a.yaml:21:" in message and "unknown key 'filtres'" in message
    assert "did you mean 'filters'" in message


def test_duplicate_names_name_both_places(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", SITE)
    write(tmp_path, "b.yaml", "# second\n" + SITE)
    [message] = problems_of(tmp_path)
    assert "b.yaml:3:" in message and "duplicate site name 'kaikkimerkit'" in message
    assert "a.yaml:2" in message


def test_missing_references_suggest_the_close_name(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", SITE + "---\n" + FEED + "---\n"
          + CONNECTION.replace("site: kaikkimerkit", "site: kaikkimerkt"))
    [message] = problems_of(tmp_path)
    assert "a.yaml:17:" in message
    assert "unknown site 'kaikkimerkt'" in message and "did you mean 'kaikkimerkit'" in message


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("{field: a, op: eqq, value: x}", "'eqq' is not allowed"),
        ("{field: a, op: regex, value: '(['}", "invalid regular expression"),
        ("{field: a, op: gt, value: abc}", "not a number"),
        ("{field: a, op: between, value: 3}", "between needs a list"),
        ("{field: a, op: in, value: x}", "in needs a list"),
    ],
)
def test_invalid_filter_rules_are_located(tmp_path: Path, rule: str, expected: str) -> None:
    write(tmp_path, "a.yaml", SITE + "---\n" + FEED + "---\n" + CONNECTION
          + f"filters:\n  rules:\n    - {{all: [{rule}]}}\n")
    [message] = problems_of(tmp_path)
    assert "a.yaml:23:" in message and expected in message


def test_invalid_cron_language_and_country(tmp_path: Path) -> None:
    site = SITE.replace("language: fi", "language: xx").replace("country: FI", "country: US")
    write(tmp_path, "a.yaml", site + "---\n" + FEED + "---\n" + CONNECTION
          + 'schedule: "61 * * * *"\n')
    messages = problems_of(tmp_path)
    assert any("a.yaml:4:" in m and "ISO 639-1" in m for m in messages)
    assert any("a.yaml:5:" in m and "not a supported country" in m for m in messages)
    assert any("a.yaml:21:" in m and "not a valid cron expression" in m for m in messages)


def test_literal_secret_is_refused_without_echoing_it(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", SITE.replace("${KAIKKI_WC_SECRET}", "cs_topsecret123"))
    [message] = problems_of(tmp_path)
    assert "a.yaml:8:" in message and "environment reference" in message
    assert "cs_topsecret123" not in message


def test_yaml_syntax_error_gives_line_and_column(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "kind: site\nname: [unclosed\n")
    [message] = problems_of(tmp_path)
    assert message.startswith(str(tmp_path / "connections" / "a.yaml") + ":3:") or ":3:" in message
    assert "YAML syntax error" in message


def test_unknown_kind_and_missing_name(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "kind: conection\nname: x\n---\nkind: feed\nurl: a.csv\n")
    messages = problems_of(tmp_path)
    assert any("a.yaml:1:" in m and "did you mean 'connection'" in m for m in messages)
    assert any("a.yaml:4:" in m and "has no `name:`" in m for m in messages)


def test_load_workspace_raises_with_every_problem(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "kind: feed\nname: f\nurl: x\nformat: yaml\n---\nkind: bogus\n")
    with pytest.raises(ConfigError) as info:
        load_workspace(tmp_path)
    assert len(info.value.problems) == 2


def test_state_path_default_settings_and_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "a.yaml", FEED)
    ws = load_workspace(tmp_path)
    assert ws.state_path == tmp_path.resolve() / ".ef" / "state.db"
    (tmp_path / "ef.yaml").write_text("state: var/ef.db\ndefaults: {chunk_size: 100}\n")
    ws = load_workspace(tmp_path)
    assert ws.state_path == (tmp_path / "var" / "ef.db").resolve()
    assert ws.settings.defaults.chunk_size == 100
    monkeypatch.setenv("EF_STATE", str(tmp_path / "elsewhere.db"))
    assert state_db_path(tmp_path, ws.settings) == (tmp_path / "elsewhere.db").resolve()


def test_workspace_settings_errors_are_located(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", FEED)
    (tmp_path / "ef.yaml").write_text("defaults:\n  chunk_sise: 100\n")
    [message] = problems_of(tmp_path)
    assert "ef.yaml:2:" in message and "did you mean 'chunk_size'" in message
