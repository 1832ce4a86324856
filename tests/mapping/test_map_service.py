"""`map_connection` against the sandbox: a real site over HTTP, real feed files."""

from __future__ import annotations

import functools
import socket
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from elementafeeds.config.models import Site
from elementafeeds.destinations.retry import FAST
from elementafeeds.destinations.woocommerce import WooCommerceDestination
from elementafeeds.errors import ConfigError, RetriableSiteError, SiteError
from elementafeeds.mapping.effective import lenient_rules, load_for_mapping
from elementafeeds.mapping.service import MapOptions, map_connection
from elementafeeds.rules.build import assemble
from elementafeeds.rules.workspace_check import validate_workspace

from .conftest import AWIN_COLUMNS, CONNECTION, awin_rows, write_csv

NAME = "hemtex-to-shop"


def fast(site: Site) -> Any:
    """The destination with millisecond retries: the seam for unreachable-site tests."""
    return WooCommerceDestination(site, retry=FAST)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_suggestions_and_coverage_from_the_live_site(shop: Any, make_workspace: Any) -> None:
    root = make_workspace(shop.url, key=shop.key, secret=shop.secret)
    report = map_connection(root, NAME, MapOptions())
    ids = {t["name"]: t["id"] for t in shop.terms()}
    cats = report["categories"]
    paths = {p["path"]: p for p in cats["paths"]}
    assert cats["site_categories"] == 8
    assert paths["Vaatteet > Paidat"]["suggestion"]["id"] == ids["Paidat"]
    assert paths["Koti > Sisustus > Tyynyt"]["suggestion"]["path"] == "Sisustus > Tyynyt"
    assert paths["Koti > Tekstiilit > Lakanat"]["current"] == ["Kodintekstiilit"]
    assert cats["coverage"]["mapped_now"] == 8
    assert cats["coverage"]["mapped_with_suggestions"] == 20
    attrs = {s["name"]: s["from"] for s in report["attributes"]["suggestions"]}
    assert attrs == {"Väri": "colour", "Koko": "Fashion:size"}
    assert report["fields"]["network"] == "awin" and report["fields"]["block"] == {}
    snippet = yaml.safe_load(report["yaml"])
    assert snippet["categories"]["map"]["Vaatteet > Housut"] == ["Vaatteet"]
    assert report["write"] is None and report["applied"] is False
    assert (root / "connections" / "hemtex.yaml").read_text() == CONNECTION


def test_write_adds_only_the_new_entries_and_is_idempotent(shop: Any,
                                                           make_workspace: Any) -> None:
    root = make_workspace(shop.url, key=shop.key, secret=shop.secret)
    path = root / "connections" / "hemtex.yaml"
    report = map_connection(root, NAME, MapOptions(write=True))
    assert report["applied"] and report["write"]["written"]
    new = path.read_text()
    old_lines = CONNECTION.splitlines(keepends=True)
    added = [line for line in new.splitlines(keepends=True) if line not in old_lines]
    assert added == [
        '    "Vaatteet > Paidat": [Vaatteet > Paidat]\n',
        '    "Koti > Sisustus > Tyynyt": [Sisustus > Tyynyt]\n',
        '    "Vaatteet > Housut": [Vaatteet]\n',
        "attributes:\n",
        '  - {name: Koko, from: Fashion:size, split: ","}\n',
        "  - {name: Väri, from: colour}\n",
    ]
    assert [line for line in new.splitlines(keepends=True) if line in old_lines] == old_lines
    assert not validate_workspace(root).problems
    again = map_connection(root, NAME, MapOptions(write=True))
    assert not again["write"]["changed"] and path.read_text() == new
    assert again["categories"]["coverage"]["mapped_now"] == 20


def test_a_declined_confirmation_changes_nothing(shop: Any, make_workspace: Any) -> None:
    root = make_workspace(shop.url, key=shop.key, secret=shop.secret)
    seen: list[dict[str, Any]] = []

    def no(report: dict[str, Any]) -> bool:
        seen.append(report)
        return False

    report = map_connection(root, NAME, MapOptions(write=True, create_missing=True),
                            confirm=no)
    assert seen and "+attributes:" in seen[0]["write"]["diff"]
    assert report["applied"] is False and not report["write"]["written"]
    assert (root / "connections" / "hemtex.yaml").read_text() == CONNECTION
    assert len(shop.terms()) == 8


def test_create_missing_creates_parents_first_reusing_term_exists(shop: Any,
                                                                  make_workspace: Any) -> None:
    connection = CONNECTION.replace(
        '    "Koti > Tekstiilit": [Kodintekstiilit]   # by hand\n',
        '    "Koti > Tekstiilit": [Kodintekstiilit]   # by hand\n'
        '    "Lelut": [Lelut > Palapelit]\n')
    root = make_workspace(shop.url, connection=connection, key=shop.key, secret=shop.secret)
    raced: dict[str, int] = {}

    def yes_after_someone_else_made_one(report: dict[str, Any]) -> bool:
        # "Vaatteet > Housut" scores 90 < 95: mirrored under the existing "Vaatteet"
        assert report["create"]["planned"] == ["Lelut", "Lelut > Palapelit",
                                               "Vaatteet > Housut"]
        raced["Lelut"] = shop.seed_categories([{"name": "Lelut"}])[0]["id"]
        return True

    report = map_connection(root, NAME, MapOptions(categories=True, fields=False,
                                                   attributes=False, create_missing=True,
                                                   min_score=95),
                            confirm=yes_after_someone_else_made_one)
    created = {c["path"]: c for c in report["create"]["created"]}
    assert list(created) == ["Lelut", "Lelut > Palapelit", "Vaatteet > Housut"]
    assert created["Lelut"]["id"] == raced["Lelut"]          # term_exists carried its id
    assert created["Lelut > Palapelit"]["parent"] == raced["Lelut"]
    terms = {t["name"]: t for t in shop.terms()}
    assert terms["Palapelit"]["parent"] == raced["Lelut"]
    assert terms["Housut"]["parent"] == terms["Vaatteet"]["id"]
    assert len([t for t in shop.terms() if t["name"] == "Lelut"]) == 1
    assert report["write"] is None  # categories were created; no file was asked for


def test_create_missing_with_write_maps_the_mirrored_paths(shop: Any,
                                                           make_workspace: Any) -> None:
    root = make_workspace(shop.url, key=shop.key, secret=shop.secret)
    report = map_connection(root, NAME, MapOptions(write=True, create_missing=True,
                                                   min_score=95))
    assert [c["path"] for c in report["create"]["created"]] == ["Lelut", "Vaatteet > Housut"]
    conn = list(yaml.safe_load_all((root / "connections" / "hemtex.yaml").read_text()))[1]
    assert conn["categories"]["map"]["Vaatteet > Housut"] == ["Vaatteet > Housut"]
    assert conn["categories"]["map"]["Lelut"] == ["Lelut"]
    again = map_connection(root, NAME, MapOptions(categories=True, fields=False,
                                                  attributes=False))
    assert again["categories"]["coverage"]["mapped_now"] == 21  # all but the empty path
    assert again["categories"]["missing_on_site"] == []


def test_wrong_credentials_are_a_site_error(shop: Any, make_workspace: Any) -> None:
    root = make_workspace(shop.url, key="ck_wrong", secret="cs_wrong")
    with pytest.raises(SiteError) as info:
        map_connection(root, NAME, MapOptions(), opener=fast)
    assert info.value.exit_code == 4 and "cs_wrong" not in str(info.value)


def test_an_unreachable_site_is_a_retriable_site_error(make_workspace: Any) -> None:
    root = make_workspace(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(RetriableSiteError) as info:
        map_connection(root, NAME, MapOptions(), opener=fast)
    assert info.value.exit_code == 4


def test_fields_alone_need_no_site(make_workspace: Any) -> None:
    root = make_workspace(f"http://127.0.0.1:{free_port()}")
    report = map_connection(root, NAME, MapOptions(categories=False, attributes=False))
    assert report["categories"] is None and report["fields"]["detected_network"] == "awin"


def test_an_incomplete_connection_is_mapped_and_then_validates(shop: Any,
                                                               make_workspace: Any) -> None:
    bare = ("kind: feed\nname: hemtex\nurl: feeds/awin.csv\n---\n"
            "kind: connection\nname: hemtex-to-shop\nfeed: hemtex\nsite: shop\n"
            "sku: 'hemtex-{merchant_product_id}'\n")
    root = make_workspace(shop.url, connection=bare, key=shop.key, secret=shop.secret)
    assert validate_workspace(root).problems  # nothing maps name, regular_price …
    report = map_connection(root, NAME, MapOptions(write=True))
    assert any("nothing maps name" in p["message"] for p in report["problems"])
    conn = list(yaml.safe_load_all((root / "connections" / "hemtex.yaml").read_text()))[1]
    assert conn["categories"]["source"] == "merchant_category"
    assert conn["fields"]["external_url"] == "{aw_deep_link}"
    assert not validate_workspace(root).problems


def test_unknown_connection_is_a_config_error(make_workspace: Any) -> None:
    root = make_workspace("https://shop.example")
    with pytest.raises(ConfigError, match="did you mean 'hemtex-to-shop'"):
        map_connection(root, "hemtex-to-shp", MapOptions())


def test_lenient_rules_match_assemble_for_a_valid_connection(make_workspace: Any) -> None:
    root = make_workspace("https://shop.example")
    ws, _, problems = load_for_mapping(root, NAME)
    assert problems == []
    again = lenient_rules(ws, NAME, [])
    strict, _ = assemble(ws, NAME)
    assert strict is not None
    for key in ("fields", "categories", "attributes", "product_type", "platform", "post_type"):
        want = getattr(strict, key)
        if key == "fields":
            want = {k: v for k, v in want.items() if k != "button_text"}
        assert getattr(again, key) == want, key


def test_real_woocommerce_sample_feed(shop: Any, make_workspace: Any) -> None:
    shop.seed_categories([{"name": "Clothing", "children": [
        {"name": "T-shirts"}, {"name": "Hoodies"}, {"name": "Accessories"}]},
        {"name": "Music"}])
    connection = ("kind: feed\nname: woo\nurl: feeds/woo.csv\n---\n"
                  "kind: connection\nname: woo-to-shop\nfeed: woo\nsite: shop\n"
                  "sku: 'w-{SKU}'\n")
    root = make_workspace(shop.url, connection=connection, key=shop.key, secret=shop.secret,
                          feeds={"woo.csv": "woocommerce-sample-products.csv"})
    report = map_connection(root, "woo-to-shop", MapOptions(sample=20))
    cats = report["categories"]
    assert report["records"] == 20 and report["sampled"]
    assert cats["source"] == "Categories" and cats["source_suggested"]
    paths = {p["path"]: p for p in cats["paths"]}
    assert paths["Clothing > Tshirts"]["suggestion"]["path"] == "Clothing > T-shirts"
    assert paths["Clothing > Hoodies"]["suggestion"]["score"] == 100.0
    block = report["fields"]["block"]
    assert block["name"] == "{Name}" and block["images"] == ["{Images}"]
    assert block["regular_price"] == {"from": "Regular price", "transform": ["price"]}
    assert block["sale_price"] == {"from": "Sale price", "transform": ["price"]}
    assert block["description"] == "{Description}"


def test_real_google_merchant_rss_feed(shop: Any, make_workspace: Any) -> None:
    pytest.importorskip("elementafeeds.feeds.xml_reader")
    connection = ("kind: feed\nname: g\nurl: feeds/g.xml\n---\n"
                  "kind: connection\nname: g-to-shop\nfeed: g\nsite: shop\n"
                  "sku: 'g-{g:id}'\n")
    root = make_workspace(shop.url, connection=connection, key=shop.key, secret=shop.secret,
                          feeds={"g.xml": "google-merchant-example-rss.xml"})
    report = map_connection(root, "g-to-shop", MapOptions(fields=True))
    fields = report["fields"]
    assert fields["detected_network"] == "google_merchant"
    assert fields["block"]["name"] == {"from": "g:title", "transform": ["strip_html"]}
    assert fields["block"]["external_url"] == "{g:link}"
    assert fields["block"]["images"] == ["{g:image_link}", "{g:additional_image_link}"]
    assert report["records"] == 6


def test_a_remote_feed_with_and_without_sample(shop: Any, make_workspace: Any,
                                               tmp_path: Path) -> None:
    served = tmp_path / "served"
    served.mkdir()
    write_csv(served / "awin.csv", awin_rows(), AWIN_COLUMNS)

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 functools.partial(Quiet, directory=str(served)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/awin.csv"
        root = make_workspace(shop.url, connection=CONNECTION.replace("feeds/awin.csv", url),
                              key=shop.key, secret=shop.secret, feeds={})
        sampled = map_connection(root, NAME, MapOptions(categories=True, fields=False,
                                                        attributes=False, sample=7))
        assert sampled["records"] == 7 and sampled["sampled"]
        assert sampled["categories"]["coverage"]["mapped_now"] == 7
        full = map_connection(root, NAME, MapOptions(categories=True, fields=False,
                                                     attributes=False))
        assert full["records"] == 22 and not full["sampled"]
    finally:
        server.shutdown()
        server.server_close()


def test_real_magento_sample_feed_fields_by_similarity(make_workspace: Any) -> None:
    connection = ("kind: feed\nname: m\nurl: feeds/m.csv\n---\n"
                  "kind: connection\nname: m-to-shop\nfeed: m\nsite: shop\nsku: 'm-{sku}'\n")
    root = make_workspace(f"http://127.0.0.1:{free_port()}", connection=connection,
                          feeds={"m.csv": "magento-sample-gear-bags.csv"})
    report = map_connection(root, "m-to-shop", MapOptions(categories=False, attributes=False))
    fields = report["fields"]
    assert report["records"] == 14 and fields["detected_network"] is None
    assert fields["block"] == {
        "name": "{name}", "description": "{description}",
        "regular_price": {"from": "price", "transform": ["price"]},
        "sale_price": {"from": "special_price", "transform": ["price"]},
    }
    assert fields["sku"]["status"] == "mapped"
