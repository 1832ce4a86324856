"""Workspaces for the `ef map` tests: a site on the sandbox, a feed, a commented connection."""

from __future__ import annotations

import csv
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

SHARED_FEEDS = Path(__file__).resolve().parents[3] / "shared" / "feeds"
KEY_ENV, SECRET_ENV = "EF_MAP_TEST_KEY", "EF_MAP_TEST_SECRET"

AWIN_COLUMNS = ["aw_product_id", "merchant_product_id", "product_name", "description",
                "search_price", "rrp_price", "merchant_category", "aw_deep_link",
                "merchant_image_url", "brand_name", "colour", "Fashion:size", "ean"]
AWIN_CATEGORIES = (
    ["Koti > Tekstiilit > Lakanat"] * 5 + ["Koti > Tekstiilit > Pyyhkeet"] * 3
    + ["Koti > Sisustus > Tyynyt"] * 4 + ["Vaatteet > Paidat"] * 6
    + ["Vaatteet > Housut"] * 2 + ["Lelut"] + [""]
)
"""22 records: 8 mapped by the connection's `Koti > Tekstiilit`, 12 more by suggestions."""
SITE_TREE = [
    {"name": "Kodintekstiilit", "children": [{"name": "Lakanat"}, {"name": "Pyyhkeet"}]},
    {"name": "Sisustus", "children": [{"name": "Tyynyt"}]},
    {"name": "Vaatteet", "children": [{"name": "Paidat"}]},
]
SITE_ATTRIBUTES = [
    {"name": "Väri", "terms": ["Punainen", "Musta", "Sininen"]},
    {"name": "Koko", "terms": ["S", "M", "L", "XL"]},
]

CONNECTION = """\
# Hemtex into the test shop. Comments, order and 'quotes' must survive ef map --write.
kind: feed
name: hemtex
network: awin                     # Awin column names
url: feeds/awin.csv
---
kind: connection
name: hemtex-to-shop   # the one under test
feed: hemtex
site: shop
product_type: deal
sku: 'hemtex-{merchant_product_id}'
fields:
  name: "{product_name}"          # keep this comment
categories:
  source: merchant_category
  delimiter: " > "
  map:
    "Koti > Tekstiilit": [Kodintekstiilit]   # by hand
  # more entries below, one day
  unmapped: skip

# what happens to products that leave the feed
stale:
  action: hide
"""


def awin_rows() -> list[dict[str, str]]:
    colours = ["Punainen", "Musta", "Sininen", "Vihreä"]
    rows = []
    for i, category in enumerate(AWIN_CATEGORIES, start=1):
        rows.append({
            "aw_product_id": str(9000000 + i), "merchant_product_id": f"HT-{i:04d}",
            "product_name": f"Tuote {i}", "description": f"<p>Tuote numero {i}</p>",
            "search_price": f"{10 + i},90", "rrp_price": f"{20 + i},00",
            "merchant_category": category,
            "aw_deep_link": f"https://www.awin1.example/pclick.php?p={i}",
            "merchant_image_url": f"https://images.example/{i}.jpg",
            "brand_name": "Finlayson", "colour": colours[i % 4],
            "Fashion:size": "S,M,L" if i % 2 else "M,XL", "ean": f"640000000{i:04d}",
        })
    return rows


def write_csv(path: Path, rows: list[dict[str, Any]], columns: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def sites_yaml(url: str) -> str:
    return (f"kind: site\nname: shop\nurl: {url}\nlanguage: fi\n"
            f"credentials:\n  consumer_key: ${{{KEY_ENV}}}\n"
            f"  consumer_secret: ${{{SECRET_ENV}}}\n"
            "limits: {batch_size: 10, concurrency: 2, timeout_s: 5}\n")


WorkspaceFactory = Callable[..., Path]


@pytest.fixture
def make_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> WorkspaceFactory:
    """`make(url, connection=CONNECTION, feeds={name: source})` → workspace root. A source is
    a list of row dicts (written as CSV) or the name of a file in ../shared/feeds."""

    def make(url: str, connection: str = CONNECTION,
             feeds: dict[str, Any] | None = None, key: str = "ck_test",
             secret: str = "cs_test") -> Path:
        root = tmp_path / "ws"
        (root / "connections").mkdir(parents=True, exist_ok=True)
        (root / "connections" / "sites.yaml").write_text(sites_yaml(url))
        (root / "connections" / "hemtex.yaml").write_text(connection)
        for name, source in (feeds if feeds is not None else {"awin.csv": awin_rows()}).items():
            target = root / "feeds" / name
            if isinstance(source, str):
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(SHARED_FEEDS / source, target)
            else:
                write_csv(target, source, list(source[0]))
        monkeypatch.setenv(KEY_ENV, key)
        monkeypatch.setenv(SECRET_ENV, secret)
        monkeypatch.chdir(root)
        return root

    return make


@pytest.fixture
def shop(shared_sandbox: Any) -> Any:
    """The sandbox with the test tree and attributes."""
    shared_sandbox.seed_categories(SITE_TREE)
    shared_sandbox.seed_attributes(SITE_ATTRIBUTES)
    return shared_sandbox
