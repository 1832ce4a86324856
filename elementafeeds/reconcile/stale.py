"""Which products are stale, and whether acting on them is safe. Pure functions.

Only evidence from runs that read the whole feed and completed counts: a product is stale when
its last sighting is older than `after_days` AND a completed run started after that sighting
(so a completed run looked for it and did not find it). Failed, partial, skipped, dry and
`--limit` runs never count.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from elementafeeds.config.models import Stale

ACTION_DONE = {"hide": "hidden", "set_stock_zero": "out_of_stock", "draft": "drafted",
               "delete": "deleted"}


@dataclass(frozen=True)
class StaleItem:
    sku: str
    product_id: int | None
    last_seen_at: str


@dataclass(frozen=True)
class Verdict:
    total: int
    stale: list[StaleItem]
    threshold: str | None
    refused: str | None
    """Why nothing may be done (no evidence, guard exceeded), or None."""

    @property
    def share(self) -> float:
        return len(self.stale) / self.total if self.total else 0.0


def threshold(stale: Stale, evidence_started_at: str | None, now: datetime) -> datetime | None:
    """Products last seen before this moment are stale; None: no evidence at all."""
    if evidence_started_at is None:
        return None
    evidence = datetime.fromisoformat(evidence_started_at)
    if stale.after_days == 0:
        return evidence
    return min(evidence, now - timedelta(days=stale.after_days))


def judge(items: Iterable[StaleItem], total: int, stale: Stale, cutoff: datetime | None,
          force: bool, skip_already: Iterable[str] = ()) -> Verdict:
    """Apply the evidence rule and the share guard."""
    if cutoff is None:
        return Verdict(total, [], None,
                       "no completed run has read the whole feed yet: nothing is evidence")
    done = set(skip_already)
    found = [i for i in items
             if datetime.fromisoformat(i.last_seen_at) < cutoff and i.sku.lower() not in done]
    verdict = Verdict(total, found, cutoff.isoformat(timespec="seconds"), None)
    if found and verdict.share > stale.max_share and not force:
        return Verdict(total, found, verdict.threshold,
                       f"{len(found)} of {total} products ({verdict.share:.0%}) are stale, more "
                       f"than stale.max_share {stale.max_share:.0%}; nothing was done "
                       "(check the feed; --force acts anyway)")
    return verdict


def action_payload(action: str, platform: str) -> dict[str, Any] | None:
    """The update that applies a stale action; None for delete."""
    if action == "delete":
        return None
    if action == "draft":
        return {"status": "draft"}
    if platform == "wordpress":
        raise ValueError(f"stale action {action} has no meaning for a WordPress site")
    if action == "hide":
        return {"catalog_visibility": "hidden"}
    if action == "set_stock_zero":
        return {"stock_status": "outofstock", "stock_quantity": 0}
    raise ValueError(f"unknown stale action {action}")
