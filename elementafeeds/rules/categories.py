"""Category matching: a record's source path to destination categories.

The source field is split by the configured delimiter into levels. The most specific
configured path that is a prefix of the record's path wins, so `Koti > Tekstiilit` covers
`Koti > Tekstiilit > Pyyhkeet` unless that deeper path has its own entry. Levels compare
without regard to case or runs of whitespace ("Tröjor  -  Zip Hoods" equals "tröjor - zip
hoods"), because feeds are typed by hand. Results are cached per distinct source text: a feed
of 500 000 products rarely has more than a few thousand distinct categories.

Targets are names (`{"name": …}`) or ids (`{"id": …}`); the destination layer resolves names
against the live site.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from elementafeeds.config.models import Categories
from elementafeeds.rules.paths import compile_path, to_text

_SPACES = re.compile(r"\s+")


@lru_cache(maxsize=64)
def _splitter(delimiter: str) -> re.Pattern[str]:
    """Whitespace around the delimiter matches any run of whitespace. Where the delimiter can
    occur inside a word (letters, `-`, `,`, `.`, `&`) written whitespace is required, so " - "
    splits "Tröjor  -  Zip Hoods" but not "T-shirts"; " > " also splits "A>B"."""
    core = delimiter.strip()
    if not core:
        return re.compile(r"\s+")
    wordlike = any(c.isalnum() or c in "-.,'&" for c in core)
    lead = r"\s+" if wordlike and delimiter[:1].isspace() else r"\s*"
    trail = r"\s+" if wordlike and delimiter[-1:].isspace() else r"\s*"
    return re.compile(lead + re.escape(core) + trail)


def split_path(text: str, delimiter: str) -> tuple[str, ...]:
    """Levels of a category path, each trimmed, empty levels dropped."""
    return tuple(p.strip() for p in _splitter(delimiter).split(text) if p.strip())


def _key(levels: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(_SPACES.sub(" ", level).casefold() for level in levels)


Match = tuple["list[dict[str, Any]] | None", "str | None"]


def target_of(value: str | int) -> dict[str, Any]:
    """A destination category reference in the neutral form the destination resolves."""
    if isinstance(value, int) and not isinstance(value, bool):
        return {"id": value}
    return {"name": str(value)}


class CategoryMatcher:
    """Compiled category mapping of one connection (not pickled; rebuilt in each worker)."""

    def __init__(self, config: Categories) -> None:
        self.config = config
        self.delimiter = config.delimiter
        self.get = compile_path(config.source) if config.source else None
        self.table: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for path, targets in config.map.items():
            key = _key(split_path(str(path), self.delimiter))
            if key:
                self.table[key] = [target_of(t) for t in targets]
        self.depth = max((len(k) for k in self.table), default=0)
        self.default = [target_of(t) for t in config.default]
        self.skip = config.unmapped == "skip"
        self._cache: dict[str, Match] = {}
        """Source text → the whole result of `match`, so unmapped texts are cached as well."""

    def lookup(self, text: str) -> list[dict[str, Any]] | None:
        """Targets of the most specific configured prefix of `text`, or None."""
        key = _key(split_path(text, self.delimiter))
        for length in range(min(len(key), self.depth), 0, -1):
            targets = self.table.get(key[:length])
            if targets is not None:
                return targets
        return None

    def sources(self, record: dict[str, Any]) -> list[str]:
        """The record's source category paths (a list-valued field gives several)."""
        if self.get is None:
            return []
        value = self.get(record)
        if value.__class__ is str:
            return [value] if value.strip() else []
        if isinstance(value, list):
            return [t for t in (to_text(v) for v in value) if t.strip()]
        text = to_text(value)
        return [text] if text.strip() else []

    def match(self, record: dict[str, Any]) -> Match:
        """(targets, None) for `record` — mapped or the default — or (None, unmapped path)
        when unmapped records are skipped. Targets are shared: copy before changing them."""
        if self.get is not None:
            value = self.get(record)
            if value.__class__ is str:  # the hot path: one category text, usually cached
                result = self._cache.get(value)
                if result is None:
                    hit = self.lookup(value) if value.strip() else None
                    result = (hit, None) if hit is not None else self._unmapped(
                        [value] if value.strip() else [])
                    if len(self._cache) < 100_000:
                        self._cache[value] = result
                return result
        paths = self.sources(record)
        found: list[dict[str, Any]] = []
        for path in paths:
            for target in self.lookup(path) or ():
                if target not in found:
                    found.append(target)
        if found:
            return found, None
        return self._unmapped(paths)

    def _unmapped(self, paths: list[str]) -> Match:
        if not self.skip:
            return self.default, None
        shown = " | ".join(self.delimiter.join(split_path(p, self.delimiter)) for p in paths)
        return None, shown or "(no category)"
