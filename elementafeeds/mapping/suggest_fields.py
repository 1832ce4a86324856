"""Feed columns → destination fields: the `fields:` block a connection could use.

Known network column names come first. They are the presets' own per-network tables (Awin,
Google Merchant, Adtraction, Tradedoubler — resolved through the connection's preset, so a
WordPress `listing` connection gets `title`/`content`, a store `name`/`description`) plus
TradeTracker's names, which no preset carries and which live here. A network's mapping is
offered with its transforms, trimmed to the columns this feed has. Fields no table covers are
matched by the similarity of column names to each field's usual names, checked against the
values (a URL field needs URLs, a price needs digits).

A field counts as mapped when its effective mapping (preset, network document, connection)
reads at least one column the feed has; one that reads only absent columns is `broken` (the
connection's own) or `inactive` (inherited: presets map optional columns many feeds lack).
The SKU template is reported but never suggested for writing: changing it re-keys every
product, and the next run would create them all again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rapidfuzz import fuzz

from elementafeeds.config.models import FieldSource
from elementafeeds.mapping.feed_scan import ColumnStats, FeedScan
from elementafeeds.rules.presets import PresetError, normalize_network, resolve_preset
from elementafeeds.rules.templates import TemplateError, parse_template

if TYPE_CHECKING:
    from elementafeeds.config.loader import Workspace
    from elementafeeds.rules.engine import RuleSet

SYNONYMS: dict[str, tuple[str, ...]] = {
    "name": ("name", "title", "product name", "product title", "nimi", "titel", "navn",
             "otsikko", "benämning"),
    "description": ("description", "long description", "product description", "body html",
                    "body", "content", "kuvaus", "beskrivning", "beschreibung", "beskrivelse"),
    "short_description": ("short description", "summary", "promotional text", "excerpt",
                          "lyhyt kuvaus", "kurzbeschreibung"),
    "regular_price": ("price", "regular price", "rrp", "rrp price", "list price",
                      "original price", "old price", "previous price", "from price",
                      "hinta", "pris", "preis"),
    "sale_price": ("sale price", "special price", "search price", "offer price",
                   "discount price", "current price", "tarjoushinta", "rea pris"),
    "product_url": ("product url", "url", "link", "deep link", "deeplink", "tracking url",
                    "product link", "affiliate link", "click url"),
    "images": ("image", "images", "image url", "image link", "picture", "photo",
               "merchant image url", "large image", "kuva", "bild"),
    "brand": ("brand", "brand name", "manufacturer", "vendor", "merkki", "marke", "märke"),
    "ean": ("ean", "gtin", "upc", "barcode", "ean13", "product gtin", "isbn"),
    "mpn": ("mpn", "manufacturer part number", "model number"),
}
KINDS = {"regular_price": "price", "sale_price": "price", "product_url": "url",
         "images": "image"}
DESTINATIONS = {
    "woocommerce": {"name": "name", "description": "description",
                    "short_description": "short_description", "regular_price": "regular_price",
                    "sale_price": "sale_price", "product_url": "external_url",
                    "images": "images", "brand": "meta.brand", "ean": "meta.ean",
                    "mpn": "meta.mpn"},
    "wordpress": {"name": "title", "description": "content", "short_description": "excerpt",
                  "regular_price": "meta.price", "product_url": "meta.affiliate_url",
                  "images": "featured_media_url", "brand": "meta.brand", "ean": "meta.ean"},
}
TRADETRACKER: dict[str, Any] = {
    "name": {"from": "name", "transform": ["strip_html"]},
    "description": "{description}",
    "regular_price": {"from": ["fromPrice", "price"], "transform": ["price", "first_non_empty"]},
    "sale_price": {"from": "price", "transform": ["price"]},
    "product_url": {"from": ["productURL", "URL"], "transform": ["first_non_empty"]},
    "images": [{"from": ["imageURL", "images.image"], "transform": ["first_non_empty"]}],
    "brand": {"from": ["brand", "properties.brand"], "transform": ["first_non_empty"]},
    "ean": {"from": ["EAN", "ean"], "transform": ["first_non_empty"]},
}
"""TradeTracker's feed names (CSV export and XML), by concept: no built-in preset has them."""
SKU_COLUMNS = ("merchant_product_id", "aw_product_id", "g:id", "id", "sku", "productid",
               "tdproductid", "product_id", "article_number", "itemid", "ean")
"""Columns that usually identify a product, most likely first (compared without case)."""


@dataclass
class FieldRow:
    field: str
    status: str
    """mapped; new (unmapped, a suggestion given); broken (the connection's own mapping reads
    no column of the feed); inactive (an inherited one does not); none (nothing found)."""
    current: Any = None
    origin: str | None = None
    suggestion: Any = None
    columns: list[str] = field(default_factory=list)
    score: float | None = None
    reason: str | None = None
    samples: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "status": self.status, "current": self.current,
                "origin": self.origin, "suggestion": self.suggestion, "columns": self.columns,
                "score": None if self.score is None else round(self.score, 1),
                "reason": self.reason, "samples": self.samples}


@dataclass
class FieldReport:
    columns: list[str]
    network: str | None
    detected_network: str | None
    rows: list[FieldRow]
    sku: FieldRow
    block: dict[str, Any]
    """Suggested mappings for unmapped and broken fields, as they would be written."""
    hint: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"columns": self.columns, "network": self.network,
                "detected_network": self.detected_network, "hint": self.hint,
                "fields": [r.as_dict() for r in self.rows], "sku": self.sku.as_dict(),
                "block": self.block}


def suggest_fields(ws: Workspace, rules: RuleSet, scan: FeedScan, network: str | None, *,
                   min_score: float) -> FieldReport:
    """What each destination field reads now and what it could read in this feed."""
    present = {c for c in scan.columns if scan.stats.get(c, ColumnStats(c)).filled}
    known = set(scan.columns)
    tables = network_tables(ws, rules)
    configured = normalize_network(network)
    detected = detect_network(tables, present)
    # Only the feed's own network (configured or recognised): another network's table would
    # pair generic names such as `price` the way that network means them.
    order = [n for n in dict.fromkeys([configured, detected]) if n in tables]
    concepts = DESTINATIONS[rules.platform]
    dests = list(concepts.values())
    for name in order:
        dests += [d for d in tables[name] if d not in dests]
    dests += [d for d in rules.fields if d not in dests and references(rules.fields[d])]
    if rules.product_type not in (None, "external"):
        dests = [d for d in dests if d not in ("external_url", "button_text")]
    by_dest = {dest: concept for concept, dest in concepts.items()}
    rows: list[FieldRow] = []
    used: set[str] = set()
    for dest in dests:
        current = rules.fields.get(dest)
        refs = references(current) if current is not None else []
        row = FieldRow(dest, "none", plain(current) if current is not None else None,
                       rules.origins.get(dest) if current is not None else None, columns=refs)
        if current is not None and (not refs or any(_has(r, known) for r in refs)):
            row.status = "mapped"
            used.update(refs)
        else:
            for name in order:
                trimmed = trim(tables[name].get(dest), present)
                if trimmed is not None:
                    row.suggestion, row.score = trimmed, 100.0
                    row.reason = f"{name} column names"
                    row.columns = references_plain(trimmed)
                    used.update(row.columns)
                    break
            if current is not None:
                row.status = "broken" if row.origin == "connection" else "inactive"
            elif row.suggestion is not None:
                row.status = "new"
        rows.append(row)
    _by_similarity(rows, by_dest, scan, present - used, min_score, rules.platform)
    for row in rows:
        row.samples = [s for c in row.columns[:1] for s in scan.stats.get(
            c, ColumnStats(c)).samples[:2]]
    block = {r.field: r.suggestion for r in rows
             if r.status in ("new", "broken", "inactive") and r.suggestion is not None}
    hint = None
    if detected and detected != configured and detected in rules.preset.networks:
        hint = (f"the columns look like a {detected} feed: `network: {detected}` on the feed "
                "lets the preset map them")
    return FieldReport(scan.columns, configured, detected, rows,
                       _sku_row(rules, scan, known), block, hint)


def network_tables(ws: Workspace, rules: RuleSet) -> dict[str, dict[str, Any]]:
    """Per network, destination field → mapping (plain data) that reads that network's
    columns: the connection's preset resolved for each network it covers, and TradeTracker."""
    tables: dict[str, dict[str, Any]] = {}
    for name in rules.preset.networks:
        try:
            resolved = resolve_preset(ws, rules.preset.name, name)
        except PresetError:
            continue
        tables[name] = {d: plain(m) for d, m in resolved.fields.items() if references(m)}
    concepts = DESTINATIONS[rules.platform]
    tables.setdefault("tradetracker", {concepts[c]: m for c, m in TRADETRACKER.items()
                                       if c in concepts})
    return tables


def detect_network(tables: dict[str, dict[str, Any]], present: set[str]) -> str | None:
    """The network whose known columns this feed has the largest share of (at least 40 %)."""
    best, best_share = None, 0.0
    for name, table in tables.items():
        refs = {r for m in table.values() for r in references_plain(m)}
        if not refs:
            continue
        share = len({r for r in refs if _has(r, present)}) / len(refs)
        if share > best_share:
            best, best_share = name, share
    return best if best_share >= 0.4 else None


def _by_similarity(rows: list[FieldRow], by_dest: dict[str, str], scan: FeedScan,
                   free: set[str], min_score: float, platform: str) -> None:
    """Fill unmapped rows from columns named like the field, best pairs first."""
    open_rows = {r.field: r for r in rows if r.suggestion is None and r.status != "mapped"
                 and r.field in by_dest}
    pairs: list[tuple[float, str, str]] = []
    for dest, row in open_rows.items():
        concept = by_dest[dest]
        for column in free:
            stats = scan.stats.get(column)
            if stats is None or not _fits(KINDS.get(concept, "text"), stats):
                continue
            score = name_similarity(column, SYNONYMS[concept])
            if score >= min_score and "{" not in column and "}" not in column:
                pairs.append((score, dest, column))
    taken: set[str] = set()
    for score, dest, column in sorted(pairs, key=lambda p: (-p[0], p[1], p[2])):
        row = open_rows[dest]
        if row.suggestion is not None or column in taken:
            continue
        taken.add(column)
        kind = KINDS.get(by_dest[dest], "text")
        row.suggestion = _mapping_for(kind, column, dest, platform)
        row.score, row.reason, row.columns = score, "similar column name", [column]
        if row.current is None:
            row.status = "new"


def _mapping_for(kind: str, column: str, dest: str, platform: str) -> Any:
    if kind == "price":
        return {"from": column, "transform": ["price"]}
    if kind == "image" and platform == "woocommerce" and dest == "images":
        return [f"{{{column}}}"]
    return f"{{{column}}}"


def _fits(kind: str, stats: ColumnStats) -> bool:
    samples = stats.samples
    if not samples:
        return False
    if kind in ("url", "image"):
        return sum(s.startswith(("http://", "https://", "//")) for s in samples) * 2 >= len(
            samples)
    if kind == "price":
        return sum(bool(re.search(r"\d", s)) and len(s) < 30 for s in samples) * 2 >= len(
            samples)
    return True


def words(column: str) -> str:
    """A column name as lower-case words: `g:image_link` → `image link`, `productURL` →
    `product url`, `Fashion:size` → `size`."""
    name = column.rsplit(":", 1)[-1] if ":" in column else column
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    name = re.sub(r"[\s_\-.\[\]*()?]+", " ", name)
    return name.strip().lower()


def name_similarity(column: str, synonyms: tuple[str, ...]) -> float:
    """Best match of the column's words with any synonym: equal words score 100; otherwise
    the mean of plain and token-set ratios, so `delivery price` does not pass for `price`."""
    text = words(column)
    best = 0.0
    for synonym in synonyms:
        if text == synonym or text.replace(" ", "") == synonym.replace(" ", ""):
            return 100.0
        score = (fuzz.ratio(text, synonym) + fuzz.token_set_ratio(text, synonym)) / 2
        best = max(best, score)
    return best


# ---------------------------------------------------------------------------------------------
# mappings as plain data


def plain(mapping: Any) -> Any:
    """A FieldMapping (pydantic or plain) as the plain data it is written as in YAML."""
    if isinstance(mapping, FieldSource):
        return mapping.model_dump(by_alias=True, exclude_defaults=True)
    if isinstance(mapping, list):
        return [plain(m) for m in mapping]
    return mapping


def references(mapping: Any) -> list[str]:
    """The feed fields a mapping reads (templates' placeholders and `from` paths)."""
    return references_plain(plain(mapping))


def references_plain(mapping: Any) -> list[str]:
    refs: list[str] = []
    if isinstance(mapping, str):
        try:
            refs = [path for kind, path in parse_template(mapping) if kind == "field"]
        except TemplateError:
            refs = []
    elif isinstance(mapping, dict):
        source = mapping.get("from")
        refs = [source] if isinstance(source, str) else list(source or [])
        if isinstance(mapping.get("template"), str):
            refs += references_plain(mapping["template"])
    elif isinstance(mapping, list):
        for item in mapping:
            refs += references_plain(item)
    return list(dict.fromkeys(refs))


def trim(mapping: Any, present: set[str]) -> Any:
    """`mapping` reduced to the columns in `present`, or None when it reads none of them."""
    if mapping is None:
        return None
    if isinstance(mapping, list):
        items = [t for t in (trim(m, present) for m in mapping) if t is not None]
        return items or None
    refs = references_plain(mapping)
    if not refs or not any(_has(r, present) for r in refs):
        return None
    if isinstance(mapping, dict) and isinstance(mapping.get("from"), list):
        kept = [r for r in mapping["from"] if _has(r, present)]
        out = dict(mapping)
        if len(kept) == 1:
            out["from"] = kept[0]
            out["transform"] = [t for t in out.get("transform", []) if t != "first_non_empty"]
            if not out["transform"]:
                del out["transform"]
        else:
            out["from"] = kept
        return _as_template(out)
    return _as_template(mapping)


def _as_template(mapping: Any) -> Any:
    """`{from: col}` alone reads as `"{col}"` (a lone placeholder keeps the raw value too)."""
    if isinstance(mapping, dict) and set(mapping) == {"from"} and isinstance(
            mapping["from"], str) and not re.search(r"[{}]", mapping["from"]):
        return f"{{{mapping['from']}}}"
    return mapping


def _has(ref: str, columns: set[str]) -> bool:
    """Whether a path reads a column of the feed (its literal name, or its first segment)."""
    if ref in columns:
        return True
    head = re.split(r"[.\[]", ref, maxsplit=1)[0]
    return any(c == head or c.startswith(head + ".") for c in columns)


def _sku_row(rules: RuleSet, scan: FeedScan, known: set[str]) -> FieldRow:
    template = rules.connection.sku
    refs = references_plain(template)
    ok = all(_has(r, known) for r in refs)
    row = FieldRow("sku", "mapped" if ok else "broken", template, "connection", columns=refs)
    if not ok:
        by_name = {c.casefold(): c for c in scan.columns if scan.stats[c].filled}
        column = next((by_name[k] for k in SKU_COLUMNS if k in by_name), None)
        if column:
            row.suggestion, row.score = f"{{{column}}}", 100.0
            row.reason = "identifier column; edit sku: by hand (it re-keys every product)"
    return row
