"""`preview_feed` and `ef preview`: early stop over HTTP, warnings, inert output, exit codes."""

from __future__ import annotations

import gzip
import json
import sys
import time
from pathlib import Path

import pytest
from feed_helpers import LocalServer, make_feed, sample
from typer.testing import CliRunner

from elementafeeds.cli.app import app
from elementafeeds.feeds import preview_feed

runner = CliRunner()
COLUMNS = ["aw_product_id", "merchant_product_id", "product_name", "description",
           "search_price", "in_stock"]


def awin_csv(rows: int) -> bytes:
    """An Awin-like CSV, quickly: rows with HTML descriptions and quoted fields."""
    lines = [",".join(COLUMNS)]
    lines += [f'{i},SKU-{i:08d},"Shirt {i}, red","<p>Soft ""cotton"" {i}</p>{"x" * 150}",'
              f"{i % 300}.95,1" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture(scope="module")
def big_csv() -> bytes:
    return awin_csv(120_000)  # about 25 MB


def test_preview_over_http_stops_downloading_early(http_server: LocalServer,
                                                   big_csv: bytes) -> None:
    url = http_server.add("/feed.csv", big_csv)
    started = time.monotonic()
    preview = preview_feed(make_feed(url), Path.cwd(), rows=100)
    assert time.monotonic() - started < 2
    assert len(preview.records) == 100 and preview.columns == COLUMNS
    assert preview.records[99]["aw_product_id"] == "99"
    assert preview.bytes_fetched < 1024 * 1024 < len(big_csv) // 20


def test_preview_of_gzip_over_http_streams_the_decompression(http_server: LocalServer,
                                                             big_csv: bytes) -> None:
    packed = gzip.compress(big_csv, 6)
    url = http_server.add("/feed.gz", packed)
    preview = preview_feed(make_feed(url), Path.cwd(), rows=50)
    assert preview.compression == "gzip" and len(preview.records) == 50
    assert preview.bytes_fetched < len(packed) // 4


@pytest.mark.parametrize("name", ["google-merchant-example-rss.xml", "shopify-products.json",
                                  "google-retail-products.jsonl", "magento-sample-gear-bags.csv"])
def test_preview_reads_real_samples(name: str) -> None:
    path = sample(name)
    preview = preview_feed(make_feed(path), Path.cwd(), rows=3)
    assert 1 <= len(preview.records) <= 3 and preview.columns
    data = preview.as_dict()
    assert {"format", "encoding", "columns", "records", "warnings"} <= set(data)
    assert ("dialect" in data) == (preview.format == "csv")
    assert ("record_path" in data) == (preview.format != "csv")


def test_preview_warnings(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(b"id,name,,name,empty\n1,a\x1b[31mred\x00,x,y,\n1,b,x,y,\n2,c\n")
    preview = preview_feed(make_feed(path), tmp_path, rows=10)
    messages = {(w.record, w.column, w.message.split(";")[0].split(" (")[0])
                for w in preview.warnings}
    assert (None, "column_3", "column 3 has no header") in messages
    assert (None, "name_2", "the header 'name' appears more than once") in messages
    assert (None, "empty", "empty in all 3 previewed records") in messages
    assert (1, "name", "NUL bytes removed") in messages
    assert (1, "name", "control characters") in messages
    assert (3, None, "2 values for 5 columns") in messages
    assert any(w.column == "id" and "appears in 2 records (1, 2)" in w.message
               for w in preview.warnings)


def test_preview_of_an_html_page_says_so(http_server: LocalServer) -> None:
    url = http_server.add("/feed", b"<!doctype html><html><head><title>Please log in</title>")
    preview = preview_feed(make_feed(url), Path.cwd())
    assert preview.is_html and preview.format == "html" and not preview.records
    assert "Please log in" in preview.warnings[0].message


# --- the command ---------------------------------------------------------------------------


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    feeds = tmp_path / "feeds"
    feeds.mkdir()
    (feeds / "evil.csv").write_text(
        "id,name,description,tag\n"
        "1,\x1b[31mRED\x1b[0m,markup " + "long " * 80 + "end,[b]x[/b]\n"
        "2,\u202eevil,\x07bell,:smile:\n", encoding="utf-8")
    (feeds / "page.csv").write_text("<html><head><title>Oops</title></head></html>")
    (feeds / "cut.csv.gz").write_bytes(gzip.compress(awin_csv(3000))[:3000])
    (tmp_path / "connections").mkdir()
    (tmp_path / "connections" / "feeds.yaml").write_text(
        "kind: feed\nname: evil\nurl: feeds/evil.csv\n---\n"
        "kind: feed\nname: page\nurl: feeds/page.csv\n---\n"
        "kind: feed\nname: cut\nurl: feeds/cut.csv.gz\n---\n"
        "kind: feed\nname: down\nurl: http://127.0.0.1:9/feed.csv\n---\n"
        "kind: site\nname: shop\nurl: sandbox://local\n---\n"
        "kind: connection\nname: evil-to-shop\nfeed: evil\nsite: shop\nsku: 'x-{id}'\n")
    return tmp_path


def test_command_table_shows_feed_text_inert(workspace: Path) -> None:
    result = runner.invoke(app, ["-w", str(workspace), "preview", "evil"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "\\x1b[31mRED" in out and "\\u202e" in out
    assert "[b]x[/b]" in out and ":smile:" in out  # markup and emoji codes stay text
    assert "csv" in out and "utf-8" in out


def test_command_json_has_full_values(workspace: Path) -> None:
    result = runner.invoke(app, ["-w", str(workspace), "preview", "evil", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["format"] == "csv" and data["dialect"]["delimiter"] == ","
    assert data["columns"] == ["id", "name", "description", "tag"]
    assert data["records"][0]["description"].endswith("long end")
    assert data["records"][0]["name"] == "\x1b[31mRED\x1b[0m"
    assert "\u202e" not in result.stdout  # escaped as \u202e inside the JSON string
    assert all(set(w) == {"record", "column", "message"} for w in data["warnings"])


def test_command_exit_codes(workspace: Path) -> None:
    down = runner.invoke(app, ["-w", str(workspace), "preview", "down"])
    assert down.exit_code == 4 and "cannot connect" in down.output
    assert "Traceback" not in down.output
    page = runner.invoke(app, ["-w", str(workspace), "preview", "page", "--json"])
    assert page.exit_code == 2 and json.loads(page.stdout)["format"] == "html"
    cut = runner.invoke(app, ["-w", str(workspace), "preview", "cut"])
    assert cut.exit_code == 2 and "truncated" in cut.output
    unknown = runner.invoke(app, ["-w", str(workspace), "preview", "evill"])
    assert unknown.exit_code == 2 and "did you mean" in unknown.output.lower()


def test_command_accepts_a_path_or_url(workspace: Path, http_server: LocalServer) -> None:
    path = sample("shopware-article-prices-de.csv")
    result = runner.invoke(app, ["-w", str(workspace), "preview", str(path), "--rows", "2",
                                 "--json"])
    assert result.exit_code == 0 and len(json.loads(result.stdout)["records"]) == 2
    url = http_server.add("/f.json", sample("shopify-products.json").read_bytes())
    result = runner.invoke(app, ["-w", str(workspace), "preview", url, "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["record_path"] == "item"


def test_command_connection_preview_without_the_rules_module(
        workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "elementafeeds.rules.preview", None)
    result = runner.invoke(app, ["-w", str(workspace), "preview", "evil-to-shop"])
    assert result.exit_code == 2
    assert "connection preview not available yet" in result.output
