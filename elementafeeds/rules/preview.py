"""`ef preview CONNECTION`: what the rules would do with the first records of the feed.

For each record its verdict — send (with the payload), filtered (by which rule), skipped
(unmapped category, with the path), failed (why) — and a summary of the sample: how many
pass, the most common reasons for the rest, and the source categories without a mapping with
their counts, which is what an operator needs to write the next `categories.map` entry.
The library returns data; the CLI renders it (table or --json).
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from elementafeeds.rules.engine import Outcome, RuleSet, build_ruleset, process_record

if TYPE_CHECKING:
    from elementafeeds.config.loader import Workspace

UNMAPPED_PREFIX = "unmapped category: "


def preview_connection(ws: Workspace, name: str, rows: int = 10) -> dict[str, Any]:
    """Verdicts for the first `rows` records of the connection's feed, and a summary."""
    from elementafeeds.errors import FeedError
    from elementafeeds.feeds import preview_feed

    rules = build_ruleset(ws, name)
    feed = ws.feed(rules.connection.feed)
    # Streams only the bytes the first records need: a 500 MB feed is not downloaded.
    sample = preview_feed(feed, ws.root, rows=max(rows, 0))
    if sample.is_html:
        reason = sample.warnings[0].message if sample.warnings else "an HTML page"
        raise FeedError(f"feed '{feed.name}' answered {reason}, not a feed",
                        hint="check the feed URL and its access token")
    records = sample.records
    report = preview_records(rules, records)
    report["feed"] = {"name": feed.name, "network": feed.network, "format": {
        "format": sample.format, "encoding": sample.encoding, "dialect": sample.dialect,
        "record_path": sample.record_path}}
    return report


def preview_records(rules: RuleSet, records: list[dict[str, Any]]) -> dict[str, Any]:
    """The preview report of records already read (pure; used by tests and by `ef map`)."""
    outcomes = [process_record(rules, record, i + 1) for i, record in enumerate(records)]
    preset = rules.preset
    return {
        "connection": rules.connection.name,
        "site": rules.connection.site,
        "platform": rules.platform,
        "preset": {"name": preset.name, "version": preset.version, "chain": list(preset.chain),
                   "network": preset.network},
        "records": [_row(o) for o in outcomes],
        "summary": summarize(outcomes),
    }


def summarize(outcomes: list[Outcome]) -> dict[str, Any]:
    """Counts per verdict, top reasons for the records that do not pass, unmapped paths."""
    verdicts = Counter(o.verdict for o in outcomes)
    reasons: Counter[tuple[str, str]] = Counter()
    unmapped: Counter[str] = Counter()
    for o in outcomes:
        if o.verdict == "send":
            continue
        reason = o.reason or o.code or "unknown"
        if o.code == "unmapped_category":
            unmapped[reason.removeprefix(UNMAPPED_PREFIX)] += 1
            reason = "unmapped category"
        reasons[(o.verdict, reason)] += 1
    return {
        "records": len(outcomes),
        "send": verdicts.get("send", 0),
        "filtered": verdicts.get("filtered", 0),
        "skipped": verdicts.get("skipped", 0),
        "failed": verdicts.get("failed", 0),
        "top_reasons": [{"verdict": v, "reason": r, "count": n}
                        for (v, r), n in reasons.most_common(5)],
        "unmapped_categories": [{"path": p, "count": n} for p, n in unmapped.most_common()],
    }


def _row(outcome: Outcome) -> dict[str, Any]:
    row: dict[str, Any] = {"record": outcome.record, "verdict": outcome.verdict,
                           "sku": outcome.sku}
    if outcome.verdict == "send":
        row["payload"] = outcome.payload
    else:
        row["reason"] = outcome.reason
        row["code"] = outcome.code
    return row
