"""`ef preview CONNECTION`: what the rules would do with the first records of the feed.

For each record its verdict — send (with the payload), filtered (by which rule), skipped
(unmapped category, with the path), failed (why) — and a summary of the sample: how many
pass, the most common reasons for the rest, and the source categories without a mapping with
their counts, which is what an operator needs to write the next `categories.map` entry.
The library returns data; the CLI renders it (table or --json).
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections import Counter
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from elementafeeds.rules.engine import Outcome, RuleSet, build_ruleset, process_record

if TYPE_CHECKING:
    from elementafeeds.config.loader import Workspace

UNMAPPED_PREFIX = "unmapped category: "


def preview_connection(ws: Workspace, name: str, rows: int = 10) -> dict[str, Any]:
    """Verdicts for the first `rows` records of the connection's feed, and a summary."""
    from elementafeeds.feeds import detect_spec, fetched, iter_records

    rules = build_ruleset(ws, name)
    feed = ws.feed(rules.connection.feed)
    with (tempfile.TemporaryDirectory(prefix="ef-preview-") as tmp,
          fetched(feed, ws.root, Path(tmp)) as result):
        spec = detect_spec(result.path, feed)
        records_iter = iter_records(result.path, spec)
        try:
            records = list(islice(records_iter, max(rows, 0)))
        finally:
            close = getattr(records_iter, "close", None)
            if close is not None:
                close()
    report = preview_records(rules, records)
    report["feed"] = {"name": feed.name, "network": feed.network, "format": _plain(spec)}
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


def _plain(spec: Any) -> Any:
    """The detected reading spec as JSON-able data, whatever type the feeds layer uses."""
    if spec is None or isinstance(spec, (str, int, float, bool)):
        return spec
    if hasattr(spec, "model_dump"):
        return spec.model_dump(mode="json")
    if dataclasses.is_dataclass(spec) and not isinstance(spec, type):
        return {k: _plain(v) for k, v in dataclasses.asdict(spec).items()}
    if isinstance(spec, dict):
        return {str(k): _plain(v) for k, v in spec.items()}
    if isinstance(spec, (list, tuple)):
        return [_plain(v) for v in spec]
    return str(spec)
