"""Source category paths next to the site's category tree: current mapping, suggestion, coverage.

Matching is by path segments, leaf first: a source path's last level is compared with the
names of the site's categories (rapidfuzz WRatio), and the levels above it with the
candidate's ancestors, so `Koti > Tekstiilit > Lakanat` finds `Kodintekstiilit > Lakanat`
rather than a `Lakanat` elsewhere. When the leaf matches nothing, its parent is tried at a
small cost (a broader category beats none). An exact path scores 100.

Which source paths are mapped now, and which would be with the suggestions accepted, is
decided by the rules layer's own `CategoryMatcher` (most specific configured prefix), so the
coverage shown is the coverage a run would have.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz, process, utils

from elementafeeds.config.models import Categories
from elementafeeds.destinations.woocommerce.catalog import path_key
from elementafeeds.mapping.feed_scan import FeedScan
from elementafeeds.rules.categories import CategoryMatcher, split_path

SITE_SEPARATOR = " > "
"""How a site category's full path is written in `categories.map` targets."""
LEAF_WEIGHT = 0.75
PARENT_PENALTY = 10.0
CANDIDATES = 8


@dataclass(frozen=True)
class SiteCategory:
    id: int
    name: str
    path: str
    ancestors: tuple[str, ...]


@dataclass
class Suggestion:
    path: str
    """The site category's full path (`A > B`), as written in the mapping."""
    id: int | None
    score: float | None
    create: bool = False
    """Not on the site: created by `--create-missing`."""

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "id": self.id,
                "score": None if self.score is None else round(self.score, 1),
                "create": self.create}


@dataclass
class PathRow:
    path: str
    records: int
    current: list[str | int] | None
    """The targets a run would use now (None: unmapped)."""
    current_via: str | None
    """The configured key that maps it (itself, or a shorter prefix)."""
    suggestion: Suggestion | None = None
    alternatives: list[Suggestion] = field(default_factory=list)
    accepted: bool = False
    """The suggestion goes into the mapping (the path is unmapped now, or --overwrite)."""

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "records": self.records, "current": self.current,
                "current_via": self.current_via,
                "suggestion": self.suggestion.as_dict() if self.suggestion else None,
                "alternatives": [a.as_dict() for a in self.alternatives],
                "accepted": self.accepted}


@dataclass
class CategoryReport:
    source: str | None
    delimiter: str
    source_suggested: bool
    delimiter_suggested: bool
    site_categories: int
    rows: list[PathRow]
    coverage: dict[str, Any]
    missing_targets: list[str]
    """Targets named by the mapping (now or with the suggestions) that the site lacks."""
    to_create: list[str]
    """Site paths `--create-missing` creates, parents first."""
    accepted: dict[str, list[str | int]]

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "delimiter": self.delimiter,
                "source_suggested": self.source_suggested,
                "delimiter_suggested": self.delimiter_suggested,
                "site_categories": self.site_categories,
                "paths": [r.as_dict() for r in self.rows], "coverage": self.coverage,
                "missing_on_site": self.missing_targets, "to_create": self.to_create}


class SiteIndex:
    """The site's tree prepared for matching and for resolving mapping targets."""

    def __init__(self, rows: Sequence[dict[str, Any]]) -> None:
        self.categories: list[SiteCategory] = []
        for row in rows:
            path = html.unescape(str(row.get("path") or row.get("name") or ""))
            levels = tuple(p.strip() for p in path.split(">") if p.strip())
            if not levels:
                continue
            self.categories.append(SiteCategory(int(row["id"]), levels[-1],
                                                SITE_SEPARATOR.join(levels), levels[:-1]))
        self.by_path = {path_key(c.path): c for c in self.categories}
        self.by_id = {c.id: c for c in self.categories}
        self.by_leaf: dict[str, list[SiteCategory]] = {}
        for cat in self.categories:
            self.by_leaf.setdefault(utils.default_process(cat.name), []).append(cat)
        self.leaves = list(self.by_leaf)
        self._cache: dict[str, list[tuple[str, float]]] = {}
        # per leaf name: top-level categories, and the others with their ancestors' text
        self._groups: dict[str, tuple[list[SiteCategory], list[SiteCategory], list[str]]] = {}
        for name, cats in self.by_leaf.items():
            nested = [c for c in cats if c.ancestors]
            self._groups[name] = ([c for c in cats if not c.ancestors], nested,
                                  [utils.default_process(" ".join(c.ancestors)) for c in nested])
        self._context: dict[tuple[str, tuple[str, ...]], list[tuple[SiteCategory, float]]] = {}

    def resolves(self, target: str | int) -> bool:
        """Whether a mapping target names a category of the site (as the catalog would)."""
        if isinstance(target, int) and not isinstance(target, bool):
            return target in self.by_id
        text = str(target)
        if path_key(text) in self.by_path:
            return True
        name = text.strip().casefold()
        return ">" not in text and any(c.name.casefold() == name for c in self.categories)

    def similar(self, level: str) -> list[tuple[str, float]]:
        """Site leaf names like `level`, with WRatio scores (cached per distinct level)."""
        key = utils.default_process(level)
        hit = self._cache.get(key)
        if hit is None:
            found = process.extract(key, self.leaves, scorer=fuzz.WRatio, processor=None,
                                    limit=CANDIDATES, score_cutoff=50) if key else []
            hit = self._cache[key] = [(name, float(score)) for name, score, _ in found]
        return hit

    def in_context(self, leaf: str, above: tuple[str, ...]) -> list[tuple[SiteCategory, float]]:
        """The categories named `leaf` whose ancestors best fit the source levels `above`,
        with that fit (0–100): both at the top level 100, one of them 60, else token-set
        similarity. A big tree repeats leaf names (every department has "Accessories"), so
        the fit is computed in one rapidfuzz call per (leaf, levels above) and cached."""
        key = (leaf, above)
        hit = self._context.get(key)
        if hit is None:
            roots, nested, texts = self._groups[leaf]
            if not above:
                hit = [(c, 100.0) for c in roots[:3]] + [(c, 60.0) for c in nested[:3]]
            else:
                hit = [(c, 60.0) for c in roots[:3]]
                query = utils.default_process(" ".join(above))
                for _, score, index in process.extract(query, texts, scorer=fuzz.token_set_ratio,
                                                       processor=None, limit=3):
                    hit.append((nested[index], float(score)))
            self._context[key] = hit
        return hit


def suggest_categories(scan: FeedScan, config: Categories, site_rows: Sequence[dict[str, Any]],
                       *, min_score: float, create_missing: bool = False,
                       overwrite: bool = False) -> CategoryReport:
    """Rows per distinct source path (most records first), coverage, what would be created."""
    site = SiteIndex(site_rows)
    delimiter = scan.delimiter
    effective = config.model_copy(update={"source": scan.category_source,
                                          "delimiter": delimiter})
    matcher = CategoryMatcher(effective)
    own_keys = {_key(k, delimiter): k for k in config.map}
    rows: list[PathRow] = []
    accepted: dict[str, list[str | int]] = {}
    for path, records in sorted(scan.path_counts().items(), key=lambda kv: (-kv[1], kv[0])):
        current, via = _current(matcher, own_keys, path, delimiter)
        row = PathRow(path, records, current, via)
        ranked = rank(split_path(path, delimiter), site)
        good = [s for s in ranked if s.score is not None and s.score >= min_score]
        if good:
            row.suggestion, row.alternatives = good[0], good[1:3]
        elif create_missing and current is None:
            mirror = SITE_SEPARATOR.join(split_path(path, delimiter))
            exists = site.by_path.get(path_key(mirror))
            row.suggestion = Suggestion(mirror, exists.id if exists else None, None,
                                        create=exists is None)
        exact = _key(path, delimiter) in own_keys
        if (row.suggestion and (current is None or (overwrite and exact))
                and current != [row.suggestion.path]):
            row.accepted = True
            accepted[path] = [row.suggestion.path]
        rows.append(row)
    coverage = _coverage(scan, effective, accepted)
    replaced = {_key(p, delimiter) for p in accepted}
    named = [t for key, targets in config.map.items() if _key(key, delimiter) not in replaced
             for t in targets] + list(config.default)
    named += [t for targets in accepted.values() for t in targets]
    missing = list(dict.fromkeys(str(t) for t in named if not site.resolves(t)))
    creatable = [str(t) for t in named if isinstance(t, str) and not site.resolves(t)]
    to_create = creation_order(creatable, site) if create_missing else []
    return CategoryReport(scan.category_source, delimiter, scan.source_suggested,
                          scan.delimiter_suggested, len(site.categories), rows, coverage,
                          missing, to_create, accepted)


def rank(levels: Sequence[str], site: SiteIndex) -> list[Suggestion]:
    """Site categories for a source path, best first (at most a few)."""
    if not levels:
        return []
    exact = site.by_path.get(path_key(SITE_SEPARATOR.join(levels)))
    scores: dict[int, float] = {}
    if exact is not None:
        scores[exact.id] = 100.0
    n = len(levels)
    for up in range(min(n, 3)):
        level = levels[n - 1 - up]
        above = tuple(levels[: n - 1 - up])
        for name, leaf_score in site.similar(level):
            for cat, fit in site.in_context(name, above):
                score = (LEAF_WEIGHT * leaf_score + (1 - LEAF_WEIGHT) * fit
                         - PARENT_PENALTY * up)
                if score > scores.get(cat.id, -1.0):
                    scores[cat.id] = min(score, 100.0)
    best = sorted(scores.items(), key=lambda kv: (-kv[1], len(site.by_id[kv[0]].path)))
    return [Suggestion(site.by_id[i].path, i, s) for i, s in best[:3]]


def _current(matcher: CategoryMatcher, own_keys: dict[tuple[str, ...], str], path: str,
             delimiter: str) -> tuple[list[str | int] | None, str | None]:
    targets = matcher.lookup(path)
    if targets is None:
        return None, None
    levels = _key(path, delimiter)
    via = next((own_keys[levels[:n]] for n in range(len(levels), 0, -1)
                if levels[:n] in own_keys), None)
    return [t["id"] if "id" in t else t["name"] for t in targets], via


def _coverage(scan: FeedScan, config: Categories,
              accepted: dict[str, list[str | int]]) -> dict[str, Any]:
    now = CategoryMatcher(config)
    later = CategoryMatcher(config.model_copy(update={"map": {**config.map, **accepted}}))
    records = scan.records
    mapped_now = mapped_later = no_category = 0
    for paths, n in scan.path_sets.items():
        if not paths:
            no_category += n
            continue
        if any(now.lookup(p) is not None for p in paths):
            mapped_now += n
            mapped_later += n
        elif any(later.lookup(p) is not None for p in paths):
            mapped_later += n
    counts = scan.path_counts()
    distinct = len(counts)
    paths_now = sum(1 for p in counts if now.lookup(p) is not None)
    paths_later = sum(1 for p in counts if later.lookup(p) is not None)
    share = (lambda n: round(n / records, 4) if records else 0.0)
    return {"records": records, "no_category": no_category, "untracked": scan.untracked,
            "mapped_now": mapped_now, "mapped_with_suggestions": mapped_later,
            "share_now": share(mapped_now), "share_with_suggestions": share(mapped_later),
            "paths": distinct, "paths_mapped_now": paths_now,
            "paths_mapped_with_suggestions": paths_later, "unmapped": config.unmapped}


def creation_order(targets: Sequence[str], site: SiteIndex) -> list[str]:
    """Every site path to create so that `targets` exist, parents before children."""
    wanted: dict[str, tuple[int, str]] = {}
    for target in targets:
        levels = [p.strip() for p in str(target).split(">") if p.strip()]
        for depth in range(1, len(levels) + 1):
            path = SITE_SEPARATOR.join(levels[:depth])
            if path_key(path) not in site.by_path:
                wanted.setdefault(path_key(path), (depth, path))
    return [path for _, path in sorted(wanted.values())]


def _key(path: str, delimiter: str) -> tuple[str, ...]:
    return tuple(" ".join(level.split()).casefold() for level in split_path(path, delimiter))
