"""The diff stage's rules that no end-to-end test reaches easily."""

from __future__ import annotations

from datetime import datetime, timezone

from elementafeeds.pipeline.diff import (
    CONNECTION_META,
    HASHES_META,
    SiteEntry,
    plan_chunk,
    site_hashes,
    with_run_meta,
)
from elementafeeds.rules import Outcome
from elementafeeds.state.records import LedgerEntry

PAYLOAD = {"name": "Tuote", "regular_price": "9.90", "images": [{"src": "https://i.example/a.jpg"}]}
HASHES = {"core": "1" * 32, "price": "2" * 32, "images": "3" * 32}


def _plan(stored: dict[str, str]):
    outcome = Outcome("send", "T-1", dict(PAYLOAD), dict(HASHES), None, None, 1)
    entry = LedgerEntry("t-1", "T-1", 7, stored, "", datetime.now(timezone.utc).isoformat(), None)
    return plan_chunk([outcome], {"t-1": entry}, {}, after_days=30,
                      now=datetime.now(timezone.utc),
                      update_payload=lambda p, groups: {k: v for k, v in p.items()
                                                        if k != "images" or "images" in groups})


def test_hashes_of_the_sha1_era_update_each_product_once_without_its_images() -> None:
    [write] = _plan({"core": "a" * 40, "price": "b" * 40, "images": "c" * 40}).writes
    assert write.action == "update" and "images" not in write.payload
    assert write.hashes == HASHES  # the ledger then holds today's hashes


def test_a_changed_image_is_sent_when_the_hashes_are_of_today() -> None:
    [write] = _plan({**HASHES, "images": "4" * 32}).writes
    assert write.payload["images"] == PAYLOAD["images"]


def _plan_remote(site: SiteEntry):
    outcome = Outcome("send", "T-1", dict(PAYLOAD), dict(HASHES), None, None, 1)
    return plan_chunk([outcome], {}, {"t-1": site}, after_days=30,
                      now=datetime.now(timezone.utc),
                      update_payload=lambda p, groups: {k: v for k, v in p.items()
                                                        if k != "images" or "images" in groups})


def test_a_product_found_on_the_site_is_diffed_against_the_hashes_it_carries() -> None:
    [same] = _plan_remote(SiteEntry(9, dict(HASHES))).writes
    assert (same.payload, same.counts_as, same.product_id) == ({}, "unchanged", 9)
    [price] = _plan_remote(SiteEntry(9, {**HASHES, "price": "x"})).writes
    assert price.counts_as == "updated" and "images" not in price.payload
    [unknown] = _plan_remote(SiteEntry(9, None)).writes
    assert unknown.counts_as == "updated" and unknown.payload == PAYLOAD


def test_only_this_connections_well_formed_hashes_count() -> None:
    meta = {CONNECTION_META: "shop", HASHES_META: '{"core":"1"}'}
    assert site_hashes(meta, "shop") == {"core": "1"}
    assert site_hashes(meta, "other") is None
    for bad in ("{", "[1]", '{"core": 1}', None, 7):
        assert site_hashes({**meta, HASHES_META: bad}, "shop") is None
    written = with_run_meta("woocommerce", {}, "shop", 3, 100, {"core": "1"})
    assert {m["key"]: m["value"] for m in written["meta_data"]}[HASHES_META] == '{"core":"1"}'
    assert HASHES_META not in with_run_meta("wordpress", {}, "shop", 3, 100, {"core": "1"})["meta"]
