"""`ef run` and `ef reconcile` into the sandbox's WordPress side: posts keyed by `_ef_sku`."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from tests.image_host import CountingImageHost
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


def _image_feed(path: Path, images: list[str]) -> None:
    rows = ["merchant_product_id,product_name,search_price,image"]
    rows += [f"P{i:05d},Hotelli {i},{100 + i},{url}" for i, url in enumerate(images)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def _uploads(sandbox) -> int:
    return sandbox.request_counts()["by_route"].get("/wp-json/wp/v2/media", {}).get("POST", 0)


def test_featured_images_are_uploaded_once_and_a_dead_one_is_a_warning(
        wp_workspace: Path, sandbox) -> None:
    conn = wp_workspace / "connections" / "wp.yaml"
    conn.write_text(conn.read_text().replace(
        'content: "Hinta {search_price}"',
        'content: "Hinta {search_price}"\n  featured_media_url: "{image}"'))
    shared, dead = sandbox.image_url("hotel.jpg"), sandbox.image_url("gone.jpg", status=404)
    feed = wp_workspace / "feeds" / "deals.csv"
    _image_feed(feed, [shared, shared, shared, dead])
    first = json.loads(ef(wp_workspace, "run", "deals-to-blog", "--json").stdout)["runs"][0]
    assert first["created"] == 4 and first["failed"] == 0, first
    featured = {p["meta"]["_ef_sku"]: p["featured_media"] for p in sandbox.posts("posts")}
    [media] = sandbox.media()
    assert featured == {"wp-P00000": media["id"], "wp-P00001": media["id"],
                        "wp-P00002": media["id"], "wp-P00003": 0}
    errors = json.loads(ef(wp_workspace, "errors", str(first["id"]), "--json").stdout)["errors"]
    images = [e for e in errors if "featured image" in e["message"]]
    assert [(e["sku"], e["code"]) for e in images] == [("wp-P00003", "warning")], errors
    assert dead in images[0]["message"]
    again = json.loads(ef(wp_workspace, "run", "deals-to-blog", "--json", "--force")
                       .stdout)["runs"][0]
    assert again["unchanged"] == 4 and _uploads(sandbox) == 1  # no image sent again
    _image_feed(feed, [shared, shared, sandbox.image_url("new.png"), dead])
    changed = json.loads(ef(wp_workspace, "run", "deals-to-blog", "--json").stdout)["runs"][0]
    assert changed["updated"] == 1 and changed["unchanged"] == 3, changed
    assert _uploads(sandbox) == 2 and len(sandbox.media()) == 2
    _image_feed(feed, [shared, "", sandbox.image_url("new.png"), dead])
    removed = json.loads(ef(wp_workspace, "run", "deals-to-blog", "--json").stdout)["runs"][0]
    assert removed["updated"] == 1 and _uploads(sandbox) == 2, removed
    featured = {p["meta"]["_ef_sku"]: p["featured_media"] for p in sandbox.posts("posts")}
    assert featured["wp-P00001"] == 0 and featured["wp-P00000"] == media["id"]


def test_an_image_host_that_was_down_is_tried_again_next_run(wp_workspace: Path,
                                                             sandbox) -> None:
    """A 503 from the image host is passing: the post is written without the image, and the
    next run (same feed) sends the image again; a 404 would not be retried."""
    host = CountingImageHost(status=503)
    try:
        conn = wp_workspace / "connections" / "wp.yaml"
        conn.write_text(conn.read_text().replace(
            'content: "Hinta {search_price}"',
            'content: "Hinta {search_price}"\n  featured_media_url: "{image}"'))
        _image_feed(wp_workspace / "feeds" / "deals.csv", [host.url])
        first = json.loads(ef(wp_workspace, "run", "deals-to-blog", "--json").stdout)["runs"][0]
        assert first["created"] == 1 and [p["featured_media"] for p in sandbox.posts()] == [0]
        host.status = 200
        again = json.loads(ef(wp_workspace, "run", "deals-to-blog", "--json", "--force")
                           .stdout)["runs"][0]
        assert again["updated"] == 1, again
        [media] = sandbox.media()
        assert [p["featured_media"] for p in sandbox.posts()] == [media["id"]]
        hits = host.hits
        third = json.loads(ef(wp_workspace, "run", "deals-to-blog", "--json", "--force")
                           .stdout)["runs"][0]
        assert third["unchanged"] == 1 and host.hits == hits  # taken: not sent again
    finally:
        host.close()
