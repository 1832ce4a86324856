"""A workspace whose site is the test's sandbox, and a generated Awin-like feed."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

CATEGORIES = ["Koti > Tekstiilit > Pyyhkeet", "Koti > Sisustus", "Vaatteet > Naiset"]


def write_feed(path: Path, count: int, price_bump: set[int] = frozenset(), skip: set[int] = frozenset()) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["merchant_product_id", "product_name", "search_price", "merchant_category",
                    "aw_deep_link", "colour", "in_stock"])
        for i in range(count):
            if i in skip:
                continue
            price = 10 + i % 50 + (5 if i in price_bump else 0)
            w.writerow([f"P{i:05d}", f"Tuote {i}", f"{price},90", CATEGORIES[i % 3],
                        f"https://aff.example/p/{i}", "Punainen", "yes"])


@pytest.fixture
def workspace(tmp_path: Path, sandbox, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "ws"
    (root / "connections").mkdir(parents=True)
    (root / "feeds").mkdir()
    monkeypatch.setenv("T_KEY", sandbox.key)
    monkeypatch.setenv("T_SECRET", sandbox.secret)
    (root / "connections" / "all.yaml").write_text(f"""\
kind: site
name: shop
url: {sandbox.url}
credentials: {{consumer_key: "${{T_KEY}}", consumer_secret: "${{T_SECRET}}"}}
limits: {{batch_size: 20, concurrency: 4, timeout_s: 5}}
---
kind: feed
name: feed
url: feeds/products.csv
---
kind: connection
name: shop-feed
feed: feed
site: shop
product_type: deal
sku: "t-{{merchant_product_id}}"
fields:
  name: "{{product_name}}"
  regular_price: {{from: search_price, transform: [price]}}
  external_url: "{{aw_deep_link}}"
categories:
  source: merchant_category
  map: {{"Koti": [Koti], "Vaatteet": [Vaatteet]}}
stale: {{action: hide, after_days: 0, max_share: 0.2}}
""")
    (root / "ef.yaml").write_text("defaults: {workers: 1, chunk_size: 50}\n")
    sandbox.seed_categories([{"name": "Koti"}, {"name": "Vaatteet"}])
    write_feed(root / "feeds" / "products.csv", 120)
    return root


def ef(root: Path, *args: str, env: dict | None = None, timeout: float = 120
       ) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "elementafeeds", "-w", str(root), *args],
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})
