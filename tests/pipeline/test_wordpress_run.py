"""`ef run` and `ef reconcile` into the sandbox's WordPress side: posts keyed by `_ef_sku`."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from tests.pipeline.conftest import ef, write_feed


@pytest.fixture
def wp_workspace(tmp_path: Path, sandbox, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "wp"
    (root / "connections").mkdir(parents=True)
    (root / "feeds").mkdir()
    monkeypatch.setenv("WP_USER", sandbox.wp_user)
    monkeypatch.setenv("WP_PASS", sandbox.wp_password)
    (root / "connections" / "wp.yaml").write_text(f"""\
kind: site
name: blog
platform: wordpress
url: {sandbox.url}
credentials: {{username: "${{WP_USER}}", application_password: "${{WP_PASS}}"}}
limits: {{batch_size: 20, concurrency: 2, timeout_s: 5}}
---
kind: feed
name: deals
url: feeds/deals.csv
---
kind: connection
name: deals-to-blog
feed: deals
site: blog
product_type: listing
post_type: posts
sku: "wp-{{merchant_product_id}}"
fields:
  title: "{{product_name}}"
  content: "Hinta {{search_price}}"
stale: {{action: draft, after_days: 0, max_share: 0.5}}
""")
    (root / "ef.yaml").write_text("defaults: {workers: 1}\n")
    write_feed(root / "feeds" / "deals.csv", 30)
    return root


def skus(sandbox) -> Counter:
    return Counter(str(p.get("meta", {}).get("_ef_sku", "")).lower()
                   for p in sandbox.posts("posts") if p.get("status") != "trash")


def test_posts_are_created_once_updated_and_drafted(wp_workspace: Path, sandbox) -> None:
    first = json.loads(ef(wp_workspace, "run", "deals-to-blog", "--json").stdout)["runs"][0]
    assert first["created"] == 30 and first["failed"] == 0, first
    assert len(skus(sandbox)) == 30 and max(skus(sandbox).values()) == 1
    again = json.loads(ef(wp_workspace, "run", "deals-to-blog", "--json", "--force")
                       .stdout)["runs"][0]
    assert again["unchanged"] == 30
    (wp_workspace / ".ef" / "state.db").unlink()  # lost state: found by _ef_sku, not duplicated
    write_feed(wp_workspace / "feeds" / "deals.csv", 30, skip={3})
    lost = json.loads(ef(wp_workspace, "run", "deals-to-blog", "--json").stdout)["runs"][0]
    assert lost["created"] == 0 and lost["updated"] == 29, lost
    assert len(skus(sandbox)) == 30 and max(skus(sandbox).values()) == 1
    result = ef(wp_workspace, "reconcile", "deals-to-blog", "--from-site", "--json")
    verdict = json.loads(result.stdout)["connections"][0]
    assert verdict["applied"] == 1, verdict
    drafted = [p for p in sandbox.posts("posts") if p.get("status") == "draft"]
    assert [p["meta"]["_ef_sku"] for p in drafted] == ["wp-P00003"]
