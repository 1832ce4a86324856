"""The diff stage's rules that no end-to-end test reaches easily."""

from __future__ import annotations

from datetime import datetime, timezone

from elementafeeds.pipeline.diff import plan_chunk
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
