"""The diff stage: what each mapped record means for the site, given the ledger.

Pure functions. New SKU → create; known SKU with changed field groups → update of those groups
only; same hashes → unchanged (no request), except a meta-only refresh of the site's last-seen
timestamp when it has grown older than half of `stale.after_days`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from elementafeeds.errors import StateError
from elementafeeds.rules import Outcome
from elementafeeds.state.records import LedgerEntry

CONNECTION_META = "_elementa_feed_connection_id"
SEEN_META = "_elementa_last_seen_timestamp"
RUN_META = "_elementa_run_id"
HASHES_META = "_elementa_hashes"
"""The field-group hashes a product was last written with (WooCommerce only: a WordPress
site stores only the meta keys it registered). A run whose state file was lost diffs the
products it finds on the site against them, as against the ledger."""

Counted = Literal["created", "updated", "unchanged"]


@dataclass(frozen=True)
class PlannedWrite:
    action: Literal["create", "update"]
    sku: str
    payload: dict[str, Any]
    hashes: dict[str, str]
    counts_as: Counted
    product_id: int | None = None
    record: int | None = None


@dataclass
class ChunkPlan:
    writes: list[PlannedWrite] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    """sku keys of unchanged products (only their last-seen time moves)."""


def refresh_cutoff(after_days: int, now: datetime) -> datetime:
    """The site's last-seen meta of an unchanged product older than this is refreshed."""
    return now - (timedelta(days=after_days / 2) if after_days else timedelta(hours=12))


def refresh_due(site_seen_at: str | None, cutoff: datetime) -> bool:
    """Whether the site's last-seen meta of an unchanged product needs refreshing."""
    return not site_seen_at or datetime.fromisoformat(site_seen_at) < cutoff


@dataclass(frozen=True)
class SiteEntry:
    """A product the site holds for a SKU the ledger lacks."""

    product_id: int
    hashes: dict[str, str] | None
    """What this connection last wrote it with (`HASHES_META`), if it says."""


def plan_chunk(
    outcomes: list[Outcome],
    ledger: dict[str, LedgerEntry],
    remote: dict[str, SiteEntry],
    *,
    update_payload: Callable[[dict[str, Any], set[str]], dict[str, Any]],
    after_days: int,
    now: datetime,
    dry_run: bool = False,
) -> ChunkPlan:
    """Decide create/update/unchanged for the `send` outcomes of one chunk.

    `remote` maps sku keys without a ledger entry to products the site already holds (looked
    up in bulk first, so a lost state file never duplicates products). One this connection
    wrote with its hashes is diffed against them: a lost state file then costs a last-seen
    refresh per unchanged product, not a full update that makes the store download every
    image again.
    """
    plan = ChunkPlan()
    cutoff = refresh_cutoff(after_days, now)
    for outcome in outcomes:
        assert outcome.sku is not None
        key = outcome.sku.lower()
        hashes = outcome.hashes or {}
        entry = ledger.get(key)
        if entry is not None and entry.product_id is not None:
            changed = {g for g, h in hashes.items() if entry.hashes.get(g) != h}
            if _sha1_era(entry.hashes):
                changed.discard("images")  # see _sha1_era
            if entry.stale_action:
                plan.writes.append(PlannedWrite(
                    "update", outcome.sku, restore_payload(_payload(outcome, dry_run)), hashes,
                    "updated", entry.product_id, outcome.record))
            elif changed:
                plan.writes.append(PlannedWrite(
                    "update", outcome.sku, update_payload(_payload(outcome, dry_run), changed),
                    hashes, "updated", entry.product_id, outcome.record))
            elif refresh_due(entry.site_seen_at, cutoff):
                plan.writes.append(PlannedWrite(
                    "update", outcome.sku, {}, hashes, "unchanged", entry.product_id,
                    outcome.record))
            else:
                plan.unchanged.append(key)
        elif key in remote:
            site = remote[key]
            if site.hashes is None:
                plan.writes.append(PlannedWrite(
                    "update", outcome.sku, _payload(outcome, dry_run), hashes, "updated",
                    site.product_id, outcome.record))
                continue
            changed = {g for g, h in hashes.items() if site.hashes.get(g) != h}
            plan.writes.append(PlannedWrite(  # an empty update refreshes the meta only
                "update", outcome.sku,
                update_payload(_payload(outcome, dry_run), changed) if changed else {},
                hashes, "updated" if changed else "unchanged", site.product_id,
                outcome.record))
        else:
            plan.writes.append(PlannedWrite(
                "create", outcome.sku, _payload(outcome, dry_run), hashes, "created", None,
                outcome.record))
    return plan


def _sha1_era(hashes: dict[str, str]) -> bool:
    """Hashes written before the digest became XXH3-128 (40 hex digits, not 32). They differ
    from today's for every product, so the first run after the change updates each product
    once — but without its images: a store downloads every image it is sent again, and an
    image that truly changed in that same run is the rarer loss."""
    return any(len(h) == 40 for h in hashes.values())


def _payload(outcome: Outcome, dry_run: bool) -> dict[str, Any]:
    """The payload to send. Workers leave payloads behind in dry runs (nothing is sent) and
    for records the ledger holds unchanged; under the run's lock nothing else writes the
    ledger, so a missing payload here means the state database was changed behind it."""
    if outcome.payload is not None:
        return outcome.payload
    if dry_run:
        return {}
    raise StateError(f"the ledger entry of SKU '{outcome.sku}' changed while this run was "
                     "reading the feed", hint="another process wrote the state database "
                     "despite the run's lock; run again")


def restore_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """A product that returned to the feed after a stale action: everything, made visible."""
    restored = dict(payload)
    restored.setdefault("status", "publish")
    if "title" not in restored:  # WooCommerce product, not a WordPress post
        restored.setdefault("catalog_visibility", "visible")
        restored.setdefault("stock_status", "instock")
    return restored


def site_hashes(meta: dict[str, Any], connection: str) -> dict[str, str] | None:
    """The hashes in a product's meta, if this connection wrote them (else None)."""
    if str(meta.get(CONNECTION_META, "")) != connection:
        return None
    try:
        hashes = json.loads(meta.get(HASHES_META) or "null")
    except (TypeError, ValueError):
        return None
    if not isinstance(hashes, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in hashes.items()):
        return None
    return hashes


def with_run_meta(platform: str, payload: dict[str, Any], connection: str, run_id: int,
                  seen_ts: int, hashes: dict[str, str] | None = None) -> dict[str, Any]:
    """Add the meta every written product carries, so a site can be reconciled on its own
    (and, on WooCommerce, the hashes it is written with: see `HASHES_META`)."""
    meta = {CONNECTION_META: connection, SEEN_META: str(seen_ts), RUN_META: str(run_id)}
    if hashes and platform != "wordpress":
        meta[HASHES_META] = json.dumps(hashes, sort_keys=True, separators=(",", ":"))
    out = dict(payload)
    if platform == "wordpress":
        out["meta"] = {**out.get("meta", {}), **meta}
    else:
        existing = [m for m in out.get("meta_data", []) if m.get("key") not in meta]
        out["meta_data"] = existing + [{"key": k, "value": v} for k, v in meta.items()]
    return out
