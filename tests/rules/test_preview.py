"""preview_connection: verdicts for the first records of a real sample feed, and a summary
of the sample (passing count, top reasons, unmapped categories with counts)."""

from __future__ import annotations

import json
import shutil

import pytest
from rules_support import SHARED_FEEDS

from elementafeeds.config.loader import load_workspace
from elementafeeds.rules import build_ruleset
from elementafeeds.rules.preview import preview_records, summarize

WOO_CSV = SHARED_FEEDS / "woocommerce-sample-products.csv"

WORKSPACE = """
kind: site
name: shop
platform: woocommerce
url: https://shop.example
language: en
credentials: {consumer_key: "${SHOP_KEY}", consumer_secret: "${SHOP_SECRET}"}
---
kind: feed
name: woo-sample
url: feeds/woocommerce-sample-products.csv
---
kind: connection
name: woo-to-shop
feed: woo-sample
site: shop
product_type: deal
sku: "demo-{SKU}"
filters:
  rules:
    - {field: Type, op: not_contains, value: variation}
fields:
  name: "{Name}"
  description: "{Description}"
  short_description: {from: Short description, transform: [strip_html, {truncate: 60}]}
  regular_price: {from: Regular price, transform: [price]}
  sale_price: {from: Sale price, transform: [price]}
  external_url: "https://shop.example/p/{SKU}"
  images: {from: Images, transform: [{split: ","}]}
  tags: {from: Tags, transform: [split]}
categories:
  source: Categories
  map:
    "Clothing": [Vaatteet]
    "Clothing > Accessories": [Asusteet, 17]
  unmapped: skip
attributes:
  - {name: Color, template: "{Attribute 1 value(s)}", split: ","}
"""


@pytest.fixture
def woo_workspace(tmp_path):
    root = tmp_path / "ws"
    (root / "connections").mkdir(parents=True)
    (root / "feeds").mkdir()
    shutil.copy(WOO_CSV, root / "feeds" / WOO_CSV.name)  # the shared file stays read-only
    (root / "connections" / "woo.yaml").write_text(WORKSPACE, encoding="utf-8")
    return load_workspace(root)


def test_preview_connection_on_the_woocommerce_sample(woo_workspace):
    from elementafeeds.rules import preview_connection

    report = preview_connection(woo_workspace, "woo-to-shop", rows=25)
    json.dumps(report)  # --json ready
    assert report["connection"] == "woo-to-shop"
    assert report["feed"]["name"] == "woo-sample"
    assert report["preset"]["chain"] == ["deal@1", "external-product@1"]
    records = report["records"]
    assert len(records) == 25 and records[0]["record"] == 1
    by_sku = {r["sku"]: r for r in records}

    beanie = by_sku["demo-woo-beanie"]
    assert beanie["verdict"] == "send"
    payload = beanie["payload"]
    assert (payload["name"], payload["regular_price"], payload["sale_price"]) == (
        "Beanie", "20.00", "18.00")
    assert payload["categories"] == [{"name": "Asusteet"}, {"id": 17}]
    assert payload["external_url"] == "https://shop.example/p/woo-beanie"
    assert payload["button_text"] == "Get the deal"
    assert payload["images"][0]["src"].startswith("https://")

    tee = by_sku["demo-woo-tshirt"]
    assert tee["payload"]["categories"] == [{"name": "Vaatteet"}]

    assert by_sku["demo-woo-vneck-tee-red"] == {
        "record": 15, "verdict": "filtered", "sku": "demo-woo-vneck-tee-red",
        "reason": "Type not_contains variation", "code": "filtered"}
    assert by_sku["demo-woo-album"]["verdict"] == "skipped"
    assert by_sku["demo-woo-album"]["reason"] == "unmapped category: Music"
    assert by_sku["demo-woo-vneck-tee"]["verdict"] == "failed"
    assert by_sku["demo-woo-vneck-tee"]["reason"] == "missing price (regular_price)"

    summary = report["summary"]
    assert summary["records"] == 25
    assert summary["send"] + summary["filtered"] + summary["skipped"] + summary["failed"] == 25
    assert summary["filtered"] == 7
    assert summary["unmapped_categories"] == [{"path": "Music", "count": 2},
                                              {"path": "Decor", "count": 1}]
    top = {(r["verdict"], r["reason"]): r["count"] for r in summary["top_reasons"]}
    assert top[("filtered", "Type not_contains variation")] == 7
    assert top[("skipped", "unmapped category")] == 3
    assert top[("failed", "missing price (regular_price)")] == 3


def test_preview_reads_only_the_rows_asked_for(woo_workspace):
    from elementafeeds.rules import preview_connection

    report = preview_connection(woo_workspace, "woo-to-shop", rows=3)
    assert [r["record"] for r in report["records"]] == [1, 2, 3]
    assert report["summary"]["records"] == 3


def test_preview_records_is_pure(woo_workspace):
    rules = build_ruleset(woo_workspace, "woo-to-shop")
    report = preview_records(rules, [{"SKU": "x", "Type": "variation"}, {"SKU": ""}])
    assert [r["verdict"] for r in report["records"]] == ["filtered", "failed"]
    assert report["summary"]["top_reasons"][0]["count"] == 1


def test_summarize_of_nothing():
    assert summarize([]) == {"records": 0, "send": 0, "filtered": 0, "skipped": 0, "failed": 0,
                             "top_reasons": [], "unmapped_categories": []}


XML_WORKSPACE = """
kind: site
name: shop
platform: woocommerce
url: https://shop.example
language: sv
credentials: {consumer_key: "${SHOP_KEY}", consumer_secret: "${SHOP_SECRET}"}
---
kind: feed
name: gmc
network: Google Merchant
url: feeds/google-merchant-example-rss.xml
---
kind: feed
name: adt
network: adtraction
url: feeds/adtraction-se-single.xml
---
kind: connection
name: gmc-shop
feed: gmc
site: shop
product_type: fashion
sku: "g-{g:id}"
categories:
  map: {"Women's Clothing > Jeans": [Jeans]}
  unmapped: skip
---
kind: connection
name: adt-shop
feed: adt
site: shop
product_type: fashion
sku: "a-{SKU}"
categories:
  map: {"Tröjor": [Tröjor]}
"""


def test_preview_of_xml_feeds_through_the_network_presets(tmp_path):
    from elementafeeds.rules import preview_connection

    root = tmp_path / "ws"
    (root / "connections").mkdir(parents=True)
    (root / "feeds").mkdir()
    for name in ("google-merchant-example-rss.xml", "adtraction-se-single.xml"):
        shutil.copy(SHARED_FEEDS / name, root / "feeds" / name)
    (root / "connections" / "xml.yaml").write_text(XML_WORKSPACE, encoding="utf-8")
    ws = load_workspace(root)

    adt = preview_connection(ws, "adt-shop", rows=5)
    payload = adt["records"][0]["payload"]
    assert (payload["name"], payload["regular_price"], payload["button_text"]) == (
        "DC Grande Premium Zip Hood", "699.00", "Köp nu")
    assert payload["external_url"].startswith("http://track.adtraction.com/t/t?a=29137242&as=")
    assert payload["categories"] == [{"name": "Tröjor"}]  # "Tröjor  -  Zip Hoods"

    gmc = preview_connection(ws, "gmc-shop", rows=10)
    summary = gmc["summary"]
    assert (summary["records"], summary["send"], summary["skipped"]) == (6, 2, 4)
    assert {"path": "Consumer Electronics > TVs > Flat Panel TVs", "count": 1} in summary[
        "unmapped_categories"]
    jeans = [r for r in gmc["records"] if r["verdict"] == "send"]
    assert all(r["payload"]["categories"] == [{"name": "Jeans"}] for r in jeans)
    assert all(r["payload"]["regular_price"].count(".") == 1 for r in jeans)
