"""The diff stage: what each mapped record means for the site, given the ledger.

Pure functions. New SKU → create; known SKU with changed field groups → update of those groups
only; same hashes → unchanged (no request), except a meta-only refresh of the site's last-seen
timestamp when it has grown older than half of `stale.after_days`.
"""

from __future__ import annotations

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


def plan_chunk(
    outcomes: list[Outcome],
    ledger: dict[str, LedgerEntry],
    remote: dict[str, int],
    *,
    update_payload: Callable[[dict[str, Any], set[str]], dict[str, Any]],
    after_days: int,
    now: datetime,
    dry_run: bool = False,
) -> ChunkPlan:
    """Decide create/update/unchanged for the `send` outcomes of one chunk.

    `remote` maps sku keys without a ledger entry to ids the site already holds (looked up in
    bulk first, so a lost state file never duplicates products).
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
            plan.writes.append(PlannedWrite(
                "update", outcome.sku, _payload(outcome, dry_run), hashes, "updated",
                remote[key], outcome.record))
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


def with_run_meta(platform: str, payload: dict[str, Any], connection: str, run_id: int,
                  seen_ts: int) -> dict[str, Any]:
    """Add the meta every written product carries, so a site can be reconciled on its own."""
    meta = {CONNECTION_META: connection, SEEN_META: str(seen_ts), RUN_META: str(run_id)}
    out = dict(payload)
    if platform == "wordpress":
        out["meta"] = {**out.get("meta", {}), **meta}
    else:
        existing = [m for m in out.get("meta_data", []) if m.get("key") not in meta]
        out["meta_data"] = existing + [{"key": k, "value": v} for k, v in meta.items()]
    return out
