"""`ef map CONNECTION` as one library call that returns plain data.

The order is chosen for the operator: the site is asked first (its category tree and global
attributes), so a site that is down or refuses the credentials fails in a second with exit 4
instead of after a long feed scan. Then the feed is streamed once (`feed_scan`), the three
suggesters run on what it found, and the accepted suggestions become one set of `Changes`:
printed as YAML to paste, or merged into the connection's file.

Anything that changes something — the YAML file with `write`, categories on the site with
`create_missing` — happens only after `confirm(report)` says yes (the command shows the diff
and asks; `--yes` passes no `confirm`). Categories are created before the file is written, so
a mapping is never saved that names categories the site does not have yet.
"""

from __future__ import annotations

import asyncio
import inspect
import tempfile
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from elementafeeds.config.loader import Workspace
from elementafeeds.config.models import Categories, Feed, Site
from elementafeeds.destinations.retry import RetryPolicy
from elementafeeds.destinations.woocommerce.catalog import path_key
from elementafeeds.errors import ConfigError, FeedError, Problem, SiteError
from elementafeeds.mapping.effective import load_for_mapping
from elementafeeds.mapping.feed_scan import FeedScan, scan_records
from elementafeeds.mapping.suggest_attributes import AttributeReport, suggest_attributes
from elementafeeds.mapping.suggest_categories import CategoryReport, suggest_categories
from elementafeeds.mapping.suggest_fields import FieldReport, suggest_fields
from elementafeeds.mapping.yaml_edit import Changes, plan_edit, render_snippet, save_edit

Confirm = Callable[[dict[str, Any]], bool]
Opener = Callable[[Site], AbstractAsyncContextManager[Any]]

STREAMED_SAMPLE = 50_000
"""Up to this many `--sample` records are read straight from the stream (held in memory)."""
MAP_RETRY = RetryPolicy(attempts=3, initial_s=0.25, max_backoff_s=2.0, max_total_s=30.0)
"""Reads for an interactive command: a short retry, so a site that is down is reported at
once (the run's policy waits minutes, and the breaker would add its cooldown)."""


@dataclass(frozen=True)
class MapOptions:
    """What `ef map` was asked to do. No section flag given means all three sections."""

    categories: bool = True
    """Category section; `create_missing` turns it on too."""
    fields: bool = True
    attributes: bool = True
    sample: int | None = None
    """Read only the first N records (None: the whole feed)."""
    min_score: float = 70.0
    """Suggestions scoring below this (0–100) are not offered."""
    write: bool = False
    overwrite: bool = False
    create_missing: bool = False


@dataclass
class SiteData:
    categories: list[dict[str, Any]]
    attributes: list[dict[str, Any]]


def map_connection(root: Path, name: str, options: MapOptions, *,
                   confirm: Confirm | None = None, opener: Opener | None = None
                   ) -> dict[str, Any]:
    """Suggestions for connection `name` of the workspace at `root` (see module docstring).

    `opener(site)` returns the destination to use as `async with`; tests inject one with a
    fast retry policy. The connection may be incomplete (that is what `ef map` is for): the
    rules' problems come back under "problems". Raises ConfigError (exit 2) when the
    workspace does not load, SiteError (exit 4), FeedError (2, or 4 when unreachable).
    """
    from elementafeeds.pipeline.sites import embedded_sandbox

    ws, rules, warnings = load_for_mapping(root, name)
    conn = rules.connection
    feed = ws.feed(conn.feed)
    use_categories = options.categories or options.create_missing
    use_attributes = options.attributes and rules.platform == "woocommerce"
    need_site = use_categories or use_attributes
    opener = opener or default_opener
    with embedded_sandbox(ws, [conn.site] if need_site else []) as replaced:
        site = replaced.get(conn.site, ws.sites[conn.site])
        live = asyncio.run(_read_site(opener, site, use_categories, use_attributes)) \
            if need_site else SiteData([], [])
        scan = read_feed(ws, feed, rules.categories, options.sample)
        categories = suggest_categories(
            scan, rules.categories, live.categories, min_score=options.min_score,
            create_missing=options.create_missing, overwrite=options.overwrite,
        ) if use_categories else None
        fields = suggest_fields(ws, rules, scan, feed.network, min_score=options.min_score) \
            if options.fields else None
        attributes = suggest_attributes(scan, live.attributes, rules.attributes,
                                        min_score=options.min_score, platform=rules.platform) \
            if options.attributes else None
        changes = _changes(rules, scan, categories, fields, attributes)
        report = _report(conn.name, conn.site, feed, rules.platform, scan, options,
                         categories, fields, attributes)
        report["file"] = _connection_file(ws, name)[1]
        report["problems"] = [p.as_dict() for p in warnings]
        report["yaml"] = render_snippet(changes, _notes(categories, fields, attributes))
        edit = None
        if options.write:
            file, display = _connection_file(ws, name)
            edit = plan_edit(file, display, name, changes, overwrite=options.overwrite)
            report["write"] = {**edit.as_dict(), "written": False}
        to_create = categories.to_create if categories and options.create_missing else []
        report["create"] = {"planned": to_create, "created": []}
        pending = bool(edit and edit.changed) or bool(to_create)
        report["applied"] = False
        if not pending or (confirm is not None and not confirm(report)):
            return report
        if to_create:
            report["create"]["created"] = asyncio.run(
                create_categories(opener, site, to_create, live.categories))
        if edit is not None and edit.changed:
            save_edit(edit)
            report["write"]["written"] = True
        report["applied"] = True
    return report


def default_opener(site: Site) -> AbstractAsyncContextManager[Any]:
    """The site's destination with the short read policy (when the destination takes one)."""
    from elementafeeds.destinations.registry import GateRegistry, destination_class

    cls = destination_class(site.platform)
    gate = GateRegistry().for_site(site)
    if "retry" in inspect.signature(cls).parameters:
        return cls(site, gate, retry=MAP_RETRY)
    return cls(site, gate)


async def _read_site(opener: Opener, site: Site, categories: bool, attributes: bool
                     ) -> SiteData:
    async with opener(site) as destination:
        cats = await destination.categories() if categories else []
        attrs = await destination.attributes() if attributes else []
    return SiteData(list(cats), list(attrs))


def read_feed(ws: Workspace, feed: Feed, categories: Categories, sample: int | None
              ) -> FeedScan:
    """Scan the feed once. A small `sample` streams only the bytes its records need (no
    download of a 500 MB feed to look at 1000 records); otherwise the feed is fetched to a
    temporary file and streamed from there, as a run does."""
    from elementafeeds.feeds import detect_spec, fetched, iter_records, preview_feed

    if sample is not None and sample <= STREAMED_SAMPLE:
        preview = preview_feed(feed, ws.root, rows=sample)
        if preview.is_html:
            reason = preview.warnings[0].message if preview.warnings else "an HTML page"
            raise FeedError(f"feed {feed.name}: {reason}")
        return scan_records(preview.records, categories, sample=sample,
                            columns=preview.columns)
    work = ws.state_dir / "tmp"
    try:
        work.mkdir(parents=True, exist_ok=True)
    except OSError:
        work = Path(tempfile.gettempdir())
    with (tempfile.TemporaryDirectory(prefix="ef-map-", dir=work) as tmp,
          fetched(feed, ws.root, Path(tmp)) as result):
        spec = detect_spec(result.path, feed)
        records = iter_records(result.path, spec)
        try:
            return scan_records(records, categories, sample=sample,
                                columns=list(spec.columns or []))
        finally:
            close = getattr(records, "close", None)
            if close is not None:
                close()


async def create_categories(opener: Opener, site: Site, paths: list[str],
                            existing: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Create `paths` (parents listed before children) on the site; the destination reuses
    the id a `term_exists` answer carries, so a repeated or concurrent create is harmless."""
    known = {path_key(str(c.get("path") or c.get("name"))): int(c["id"]) for c in existing}
    created: list[dict[str, Any]] = []
    async with opener(site) as destination:
        for path in paths:
            levels = [p.strip() for p in path.split(">") if p.strip()]
            parent = 0
            if len(levels) > 1:
                parent_path = " > ".join(levels[:-1])
                if path_key(parent_path) not in known:
                    raise SiteError(f"site {site.name}: parent category '{parent_path}' of "
                                    f"'{path}' is missing", code="missing_parent")
                parent = known[path_key(parent_path)]
            new_id = await destination.create_category(levels[-1], parent)
            known[path_key(path)] = int(new_id)
            created.append({"path": " > ".join(levels), "id": int(new_id), "parent": parent})
    return created


def _connection_file(ws: Workspace, name: str) -> tuple[Path, str]:
    doc = ws.source("connection", name)
    if doc is None:
        raise ConfigError([Problem(str(ws.root / "connections"), None,
                                   f"unknown connection '{name}'")])
    file = Path(doc.file)
    return (file if file.is_absolute() else Path.cwd() / file), doc.file


def _changes(rules: Any, scan: FeedScan, categories: CategoryReport | None,
             fields: FieldReport | None, attributes: AttributeReport | None) -> Changes:
    keys: dict[str, Any] = {}
    cmap: dict[str, list[str | int]] = {}
    if categories is not None:
        if scan.source_suggested and scan.category_source:
            keys["source"] = scan.category_source
            if scan.delimiter_suggested:
                keys["delimiter"] = scan.delimiter
        cmap = dict(categories.accepted)
    entries = attributes.entries if attributes is not None else []
    own = "attributes" in rules.connection.model_fields_set
    inherited = [] if own else [a.model_dump(by_alias=True, exclude_defaults=True)
                                for a in rules.attributes]
    return Changes(delimiter=scan.delimiter, category_keys=keys, category_map=cmap,
                   fields=dict(fields.block) if fields is not None else {},
                   attributes=entries, inherited_attributes=inherited)


def _notes(categories: CategoryReport | None, fields: FieldReport | None,
           attributes: AttributeReport | None) -> dict[tuple[str, str], str]:
    notes: dict[tuple[str, str], str] = {}
    for row in categories.rows if categories else []:
        if row.accepted and row.suggestion:
            what = "new on the site" if row.suggestion.create else \
                f"score {row.suggestion.score:.0f}"
            plural = "" if row.records == 1 else "s"
            notes[("categories.map", row.path)] = f"{what} · {row.records} record{plural}"
    for row in fields.rows if fields else []:
        if row.field in fields.block:
            notes[("fields", row.field)] = f"{row.reason}" + (
                " (the current mapping reads no column of this feed)"
                if row.status in ("broken", "inactive") else "")
    for s in attributes.suggestions if attributes else []:
        notes[("attributes", str(s["name"]))] = f"{s['reason']}, score {s['score']:.0f}"
    return notes


def _report(name: str, site: str, feed: Feed, platform: str, scan: FeedScan,
            options: MapOptions, categories: CategoryReport | None, fields: FieldReport | None,
            attributes: AttributeReport | None) -> dict[str, Any]:
    return {
        "connection": name, "site": site, "feed": feed.name, "platform": platform,
        "records": scan.records, "sample": options.sample, "sampled": scan.sampled,
        "min_score": options.min_score,
        "categories": categories.as_dict() if categories else None,
        "fields": fields.as_dict() if fields else None,
        "attributes": attributes.as_dict() if attributes else None,
        "write": None,
    }
