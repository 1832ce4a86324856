"""The site's global attributes and their terms next to the feed's attribute-like columns.

A global attribute (pa_color …) makes values shared and filterable in the store, so a feed
column is paired with one when it can be: by meaning (both are "colour", in any of the
languages the stores we serve use), by name, or by the share of the column's values that are
already terms of the attribute ("Punainen", "Musta" found among Väri's terms). Columns with a
known meaning and no global attribute are offered as local attributes under a plain name.
Brand is only offered when the site has a global brand attribute: otherwise it is a field
(`meta.brand`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from elementafeeds.config.models import Attribute
from elementafeeds.mapping.feed_scan import ColumnStats, FeedScan
from elementafeeds.mapping.suggest_fields import name_similarity, words

CONCEPTS: dict[str, tuple[str, ...]] = {
    "color": ("color", "colour", "väri", "vari", "farbe", "färg", "farve", "farge", "couleur",
              "colore", "kleur", "kolor", "värv", "color name"),
    "size": ("size", "sizes", "koko", "größe", "grösse", "groesse", "storlek", "størrelse",
             "taille", "taglia", "maat", "rozmiar", "suurus", "talla"),
    "material": ("material", "materiaali", "materiaal", "matériau", "materiale", "fabric"),
    "gender": ("gender", "sukupuoli", "geschlecht", "kön", "kjønn", "køn", "genre",
               "suitable for", "target gender"),
    "pattern": ("pattern", "kuvio", "muster", "mönster"),
    "age_group": ("age group", "ikäryhmä", "altersgruppe", "åldersgrupp"),
    "dimensions": ("dimensions", "mitat", "abmessungen", "mått"),
    "brand": ("brand", "brand name", "merkki", "marke", "märke", "manufacturer"),
}
DISPLAY = {"color": "Color", "size": "Size", "material": "Material", "gender": "Gender",
           "pattern": "Pattern", "age_group": "Age group", "dimensions": "Dimensions",
           "brand": "Brand"}
"""Names of local attributes (the built-in presets use the same English names)."""
LOCAL = ("color", "size", "material", "gender", "pattern", "age_group", "dimensions")
CONCEPT_SCORE = 85.0
_NUMBER = re.compile(r"[\d\s.,:%€$£-]+")
SHOWN_TERMS = 30


@dataclass
class Candidate:
    column: str
    concept: str | None
    score: float
    stats: ColumnStats
    split: str | None
    values: set[str] = field(default_factory=set)

    def as_dict(self) -> dict[str, Any]:
        return {"column": self.column, "concept": self.concept, "score": round(self.score, 1),
                "distinct": len(self.stats.values), "many_values": self.stats.overflow,
                "values": [v for v, _ in self.stats.values.most_common(10)],
                "split": self.split}


@dataclass
class AttributeReport:
    site: list[dict[str, Any]]
    columns: list[Candidate]
    configured: list[dict[str, Any]]
    suggestions: list[dict[str, Any]]
    note: str | None = None

    @property
    def entries(self) -> list[dict[str, Any]]:
        """The suggestions as `attributes:` entries, as they would be written."""
        out = []
        for s in self.suggestions:
            entry = {"name": s["name"], "from": s["from"]}
            if s.get("split"):
                entry["split"] = s["split"]
            out.append(entry)
        return out

    def as_dict(self) -> dict[str, Any]:
        return {"site": self.site, "columns": [c.as_dict() for c in self.columns],
                "configured": self.configured, "suggestions": self.suggestions,
                "entries": self.entries, "note": self.note}


def suggest_attributes(scan: FeedScan, site_attributes: Sequence[dict[str, Any]],
                       configured: Sequence[Attribute], *, min_score: float,
                       platform: str = "woocommerce") -> AttributeReport:
    """Candidate columns, the site's attributes with the column each could read, and the
    entries to add (none for what the connection or its preset already maps)."""
    done = [_plain(a) for a in configured]
    if platform != "woocommerce":
        return AttributeReport([], [], done, [], note="WordPress posts have no product "
                               "attributes; map such columns to meta.KEY fields instead")
    candidates = _candidates(scan)
    names_done = {str(a.get("name", "")).casefold() for a in done}
    columns_done = {a.get("from") for a in done if a.get("from")}
    concepts_done = {concept_of(str(a.get("name", "")))[0] for a in done} - {None}
    free = [c for c in candidates if c.column not in columns_done]
    pairs: list[tuple[float, float, int, Candidate]] = []
    site_rows: list[dict[str, Any]] = []
    for index, attr in enumerate(site_attributes):
        terms = [str(t.get("name", "")) for t in attr.get("terms") or []]
        concept, _ = concept_of(str(attr.get("name", "")), str(attr.get("slug") or ""))
        site_rows.append({"id": attr.get("id"), "name": attr.get("name"),
                          "slug": attr.get("slug"), "concept": concept,
                          "terms": terms[:SHOWN_TERMS], "terms_total": len(terms),
                          "configured": str(attr.get("name", "")).casefold() in names_done,
                          "suggested_from": None})
        if site_rows[-1]["configured"]:
            continue
        folded = {t.casefold() for t in terms}
        for cand in free:
            overlap = len(cand.values & folded) / len(cand.values) if cand.values else 0.0
            score = name_similarity(cand.column, (words(str(attr.get("name", ""))),
                                                  words(str(attr.get("slug") or "")
                                                        .removeprefix("pa_"))))
            if concept and cand.concept == concept:
                score = max(score, 90.0 + 10 * overlap)
            if len(cand.values) >= 2:
                score = max(score, 100 * overlap)
            if score >= min_score:
                pairs.append((score, overlap, index, cand))
    suggestions: list[dict[str, Any]] = []
    taken_columns: set[str] = set()
    taken_attrs: set[int] = set()
    for score, overlap, index, cand in sorted(pairs, key=lambda p: (-p[0], -p[1], p[2])):
        if index in taken_attrs or cand.column in taken_columns:
            continue
        taken_attrs.add(index)
        taken_columns.add(cand.column)
        attr = site_attributes[index]
        site_rows[index]["suggested_from"] = cand.column
        suggestions.append({"name": attr.get("name"), "from": cand.column, "split": cand.split,
                            "global": True, "attribute_id": attr.get("id"),
                            "score": round(score, 1), "overlap": round(overlap, 3),
                            "reason": "terms in common" if overlap * 100 >= score
                            else "same meaning" if cand.concept else "similar name"})
    global_concepts = {r["concept"] for r in site_rows if r["concept"]}
    for cand in free:
        concept = cand.concept
        if (cand.column in taken_columns or concept not in LOCAL or concept in concepts_done
                or concept in global_concepts or DISPLAY[concept].casefold() in names_done):
            continue
        concepts_done.add(concept)
        suggestions.append({"name": DISPLAY[concept], "from": cand.column, "split": cand.split,
                            "global": False, "attribute_id": None,
                            "score": round(cand.score, 1), "overlap": None,
                            "reason": "local attribute (the site has no global one)"})
    return AttributeReport(site_rows, candidates, done, suggestions)


def concept_of(*names: str) -> tuple[str | None, float]:
    """The attribute meaning of a name (colour, size …) and how sure, or (None, 0)."""
    best, best_score = None, 0.0
    for name in names:
        if not name:
            continue
        for concept, synonyms in CONCEPTS.items():
            score = name_similarity(name.removeprefix("pa_"), synonyms)
            if score > best_score:
                best, best_score = concept, score
    return (best, best_score) if best_score >= CONCEPT_SCORE else (None, best_score)


def _candidates(scan: FeedScan) -> list[Candidate]:
    """Columns that read like attributes: a known meaning, or a short list of short values."""
    out: list[Candidate] = []
    for column in scan.columns:
        stats = scan.stats.get(column)
        if (stats is None or not stats.filled or _looks_like_text(stats)
                or column == scan.category_source):
            continue
        concept, score = concept_of(column)
        distinct = len(stats.values)
        # a short list of values that repeat (identifiers, prices and counts do not qualify)
        few = (not stats.overflow and 1 < distinct <= 100 and distinct * 2 <= stats.filled
               and not all(_NUMBER.fullmatch(v) for v in stats.values))
        if concept is None and not few:
            continue
        split = _split(stats, concept)
        values = set()
        for value in stats.values:
            parts = value.split(split) if split else [value]
            values.update(p.strip().casefold() for p in parts if p.strip())
        out.append(Candidate(column, concept, score if concept else 0.0, stats, split, values))
    out.sort(key=lambda c: (c.concept is None, -c.score, c.column))
    return out


def _looks_like_text(stats: ColumnStats) -> bool:
    samples = stats.samples
    if any(s.startswith(("http://", "https://")) for s in samples):
        return True
    return bool(samples) and sum(len(s) for s in samples) / len(samples) > 60


def _split(stats: ColumnStats, concept: str | None) -> str | None:
    values = list(stats.values) or stats.samples
    if not values:
        return None
    for sep in (",", "|", ";") + (("/",) if concept == "color" else ()):
        if sum(sep in v for v in values) * 5 >= len(values):
            return sep
    return None


def _plain(attribute: Attribute) -> dict[str, Any]:
    return attribute.model_dump(by_alias=True, exclude_defaults=True)
