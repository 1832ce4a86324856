"""The XML reader: lxml `iterparse`, safe settings, one record element at a time.

Safety: entities are never resolved, DTDs never loaded, the network never touched
(`resolve_entities=False, load_dtd=False, no_network=True`), text nodes stay under libxml2's
10 MB limit (`huge_tree=False`), and a DOCTYPE that declares entities at all is refused:
real product feeds declare none, attacks (billion laughs, external entities) always do.

Record keys (documented for mapping authors):
  * a child element's key is its name as written in the feed, prefix included: `g:price`,
    `title`; an element in a default namespace has no prefix (Zanox: `name`);
  * a leaf's value is its text, stripped; an empty element is "";
  * attributes are kept as `@name` keys: the record's own (`@id`) and, for a child with
    attributes, inside the child's dict with its text under `#text`
    (`<price currency="SEK">1,299</price>` → `{"@currency": "SEK", "#text": "1,299"}`);
  * a repeated child becomes a list (`g:additional_image_link: [...]`), a single one is not;
  * CDATA is text; HTML written as elements (`<description><p>…</p></description>`) or mixed
    text and elements is kept as one HTML string.
Memory: each record is cleared after it is converted, and so are the elements before it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from operator import itemgetter
from pathlib import Path
from typing import Any

from elementafeeds.errors import FeedError, HostileFeedError
from elementafeeds.feeds import chunkfiles
from elementafeeds.feeds.contracts import ChunkRead, ChunkTask, FeedSpec, RecordProblem, Row
from elementafeeds.feeds.streams import Readable
from elementafeeds.feeds.xml_repair import EntityRepairStream

DETECT_BYTES = 4 * 1024 * 1024
ENOUGH = 50
KNOWN_RECORDS = {"item", "product", "offer", "entry", "record", "row", "produkt", "artikel",
                 "article", "listing", "hotel", "deal", "ad", "post", "node", "vehicle", "job",
                 "property", "program", "programme", "tuote", "produit", "producto"}
HTML_TAGS = {"p", "br", "b", "i", "u", "s", "strong", "em", "ul", "ol", "li", "span", "div",
             "a", "h1", "h2", "h3", "h4", "h5", "h6", "table", "tr", "td", "th", "tbody",
             "thead", "img", "small", "sup", "sub", "hr", "blockquote", "font", "center",
             "pre", "code", "dl", "dt", "dd"}
_XMLNS = re.compile(r'\s+xmlns(?::[\w.-]+)?="[^"]*"')
_ENTITY_ERRORS = ("EntityRef", "Entity '", "xmlParseEntityRef", "PEReference")
_ENCODING_ERRORS = ("proper UTF-8", "Invalid bytes in character encoding", "encoding",
                    "Char 0x")


def _iterparse(source: Any, encoding: str | None, events: tuple[str, ...],
               tag: str | None = None) -> Any:
    from lxml import etree

    return etree.iterparse(source, events=events, tag=tag, encoding=encoding,
                           resolve_entities=False, no_network=True, load_dtd=False,
                           huge_tree=False, remove_comments=True, remove_pis=True)


class _Keys:
    """Element and attribute names as written in the feed, cached by their Clark name, and the
    shape of the last record converted (see `record_of`)."""

    def __init__(self) -> None:
        # Only element names are cached: an entity reference (its tag is not a str) is left
        # out, so the hot loop's plain `tags[child.tag]` misses on it and lands in `tag()`.
        self.tags: dict[str, str] = {}
        self._attrs: dict[str, str] = {}
        self.shape: _Shape | None = None

    def tag(self, el: Any) -> str | None:
        tag = el.tag
        key = self.tags.get(tag)
        if key is None:
            if not isinstance(tag, str):
                return None  # an unresolved entity reference
            local = tag.rpartition("}")[2]
            key = f"{el.prefix}:{local}" if el.prefix else local
            self.tags[tag] = key
        return key

    def attr(self, name: str, el: Any) -> str:
        key = self._attrs.get(name)
        if key is None:
            key = "@" + name
            if name.startswith("{"):
                uri, _, local = name[1:].partition("}")
                prefix = "xml" if uri == "http://www.w3.org/XML/1998/namespace" else next(
                    (p for p, u in el.nsmap.items() if u == uri and p), None)
                key = f"@{prefix}:{local}" if prefix else f"@{local}"
            self._attrs[name] = key
        return key


class _Shape:
    """A record's children by name: consecutive records of a feed nearly always have the same
    children in the same order, so the next record only compares its tags to `tags` and takes
    its keys, and which of them repeat, from here instead of looking each one up."""

    __slots__ = ("keys", "repeats", "tags")

    def __init__(self, tags: list[Any], keys: list[str]) -> None:
        self.tags = tags
        self.keys = keys
        positions: dict[str, list[int]] = {}
        for i, key in enumerate(keys):
            positions.setdefault(key, []).append(i)
        self.repeats: list[tuple[str, slice | itemgetter[Any]]] = []
        for key, at in positions.items():
            if len(at) > 1:  # a run (image links one after another) is a slice, else pick
                run = at[-1] - at[0] == len(at) - 1
                self.repeats.append((key, slice(at[0], at[-1] + 1) if run else itemgetter(*at)))


def record_of(el: Any, keys: _Keys) -> dict[str, Any]:
    """The record of element `el`. A record shaped like the one before it (same child tags in
    the same order) skips the per-child name lookups and repeat checks; with the list from
    `getchildren()` this took `iter_records` from 1.61× to about 1.5× a bare iterparse loop
    (issue 4). The plain path (`_children`) builds exactly the same dict."""
    out = _attrs(el, keys)
    children = el.getchildren()  # a list is cheaper to walk than lxml's child iterator
    tags = [child.tag for child in children]
    shape = keys.shape
    if shape is None or tags != shape.tags:
        # Convert it the plain way, which learns new names in document order (the first
        # prefix seen for a namespace wins), then remember its shape. A record holding an
        # entity reference has no shape: its children are never all in `keys.tags`.
        _children(children, keys, out)
        names = [keys.tags.get(tag) for tag in tags]
        keys.shape = None if None in names else _Shape(tags, names)  # type: ignore[arg-type]
        return out
    values: list[Any] = []
    add = values.append
    for child in children:
        if len(child):
            add(_value(child, keys))
        elif child.keys():
            add(_attributed(child, keys))
        else:
            text = child.text
            add(text.strip() if text else "")
    out.update(zip(shape.keys, values))  # a repeated key keeps its first place, as below
    for key, at in shape.repeats:
        out[key] = values[at] if at.__class__ is slice else list(at(values))
    return out


def _children(children: list[Any], keys: _Keys, out: dict[str, Any]) -> dict[str, Any]:
    """`children` into `out`. The leaf without attributes — nearly every field of a product
    feed — is handled inline (a call per child measured 15 % slower); anything else goes to
    `_value` or `_attributed`. The `try` around the name lookup costs nothing when it hits."""
    tags = keys.tags
    for child in children:
        try:
            key = tags[child.tag]
        except KeyError:  # a name not seen yet, or an entity reference (None: skipped)
            key = keys.tag(child)  # type: ignore[assignment]
            if key is None:
                continue
        if len(child):
            value: Any = _value(child, keys)
        elif child.keys():
            value = _attributed(child, keys)
        else:
            text = child.text
            value = text.strip() if text else ""
        if key in out:
            old = out[key]
            if old.__class__ is list:
                old.append(value)
            else:
                out[key] = [old, value]
        else:
            out[key] = value
    return out


def _attributed(el: Any, keys: _Keys) -> dict[str, str]:
    """A leaf with attributes: `@name` keys, and its text (if any) under `#text`."""
    value: dict[str, str] = {}
    for name, v in el.items():
        value[keys.attr(name, el)] = v
    text = el.text
    if text:
        text = text.strip()
        if text:
            value["#text"] = text
    return value


def _attrs(el: Any, keys: _Keys) -> dict[str, Any]:
    """`el`'s attributes as `@name` keys (most elements have none: skip the comprehension)."""
    items = el.items()
    return {keys.attr(name, el): value for name, value in items} if items else {}


def _value(el: Any, keys: _Keys) -> Any:
    """An element with children: a dict of them, or its HTML as a string."""
    text = el.text
    if (text and text.strip()) or _is_html(el, keys):
        return _inner_xml(el)
    return _children(el.getchildren(), keys, _attrs(el, keys))


def _is_html(el: Any, keys: _Keys) -> bool:
    for child in el:
        if child.tail and child.tail.strip():
            return True  # mixed content
        key = keys.tag(child)
        if key is None or key.lower() not in HTML_TAGS:
            return False
    return True


def _inner_xml(el: Any) -> str:
    from lxml import etree

    parts = [el.text or ""]
    for child in el:
        parts.append(etree.tostring(child, encoding="unicode", with_tail=True))
    return _XMLNS.sub("", "".join(parts)).strip()


def _check_dtd(el: Any) -> None:
    dtd = el.getroottree().docinfo.internalDTD
    if dtd is None:
        return
    names = [entity.name for entity in dtd.iterentities()]
    if names:
        raise HostileFeedError(
            f"the XML feed declares entities in its DOCTYPE ({', '.join(names[:5])}); "
            "ElementaFeeds never expands XML entities, and real product feeds declare none",
            hint="this is how entity-expansion and file-disclosure attacks start; "
                 "ask the network what is serving this file")


def translate(exc: Exception, what: str = "the XML feed") -> FeedError:
    """lxml's error → an operator's message (and HostileFeedError for attacks)."""
    text = str(getattr(exc, "msg", None) or exc)
    line = getattr(exc, "lineno", None)
    where = f" at line {line}" if line else ""
    if "amplification" in text or "entity reference loop" in text:
        return HostileFeedError(f"{what} expands entities without bound{where} "
                                "(a 'billion laughs' attack); refused")
    if "huge" in text.lower():
        return HostileFeedError(f"{what} has a text node over 10 MB{where}; refused",
                                hint="no product field is that large")
    if "Premature end" in text or "not found" in text or "Extra content" in text or \
            "Couldn't find end" in text or "no element found" in text:
        return FeedError(f"{what} ends early or is broken{where}: {text}",
                         hint="a truncated download or an incomplete file; fetch it again")
    return FeedError(f"{what} is not well-formed XML{where}: {text}")


class XmlReader:
    """Reader plugin for XML (entry point `xml`)."""

    format = "xml"

    def detect(self, head: bytes, stream: Readable, feed: Any, at_eof: bool,
               notes: list[RecordProblem] | None = None) -> FeedSpec:
        from elementafeeds.feeds.xml_detect import detect_xml

        return detect_xml(head, stream, feed, notes)

    def iter_rows(self, stream: Readable, spec: FeedSpec) -> Iterator[Row]:
        for ordinal, record in enumerate(self.iter_records(stream, spec), start=1):
            yield Row(ordinal, record, None)

    def iter_records(self, stream: Readable, spec: FeedSpec) -> Iterator[dict[str, Any]]:
        from lxml import etree

        record_path = spec.record_path or ""
        parts = tuple(record_path.strip("/").split("/"))
        exact = record_path.startswith("/")
        name = parts[-1]
        source: Any = EntityRepairStream(stream) if spec.repair else stream
        context = _iterparse(source, spec.encoding, ("end",), "{*}" + name.split(":")[-1])
        keys = _Keys()
        last_parent: Any = object()
        parent_ok = False
        count = 0
        try:
            for _, el in context:
                if count == 0:
                    _check_dtd(el)
                if keys.tag(el) != name:
                    continue
                parent = el.getparent()
                if parent is not last_parent:
                    last_parent, parent_ok = parent, _parent_ok(parent, parts, exact, keys)
                if not parent_ok:
                    continue
                count += 1
                yield record_of(el, keys)
                el.clear(keep_tail=False)
                if parent is not None:
                    while el.getprevious() is not None:
                        del parent[0]
        except etree.XMLSyntaxError as exc:
            raise translate(exc) from exc
        if count == 0:
            raise FeedError(f"the XML feed holds no <{name}> records at {record_path}",
                            hint="check the feed's xml.record (or leave it out to detect it)")

    def plan_chunks(self, path: Path, spec: FeedSpec, work_dir: Path,
                    records_per_chunk: int = 500,
                    target_bytes: int | None = None) -> Iterator[ChunkTask]:
        with path.open("rb") as handle:
            yield from chunkfiles.write_chunks(enumerate(self.iter_records(handle, spec), 1),
                                               spec, work_dir, records_per_chunk)

    def read_chunk(self, task: ChunkTask) -> ChunkRead:
        return chunkfiles.read_chunk_file(task)


def _parent_ok(parent: Any, parts: tuple[str, ...], exact: bool, keys: _Keys) -> bool:
    """The record's ancestors match the record path (or, for a bare name, hold no record)."""
    names = []
    node = parent
    while node is not None:
        names.append(keys.tag(node))
        node = node.getparent()
    names.reverse()
    if exact:
        return tuple(names) == parts[:-1]
    return parts[-1] not in names


def record_counts(paths: Counter[str]) -> list[tuple[str, int]]:
    """Candidate record paths, best first (see xml_detect)."""
    ranked = []
    for path, count in paths.items():
        depth = path.count("/")
        if depth < 2:
            continue  # the root is never the record
        ancestors = [path[:i] for i in range(len(path)) if path[i] == "/" and i > 0]
        if any(paths.get(a, 0) >= 2 for a in ancestors):
            continue
        local = path.rsplit("/", 1)[1].split(":")[-1].lower()
        ranked.append(((local in KNOWN_RECORDS, count, -depth), path, count))
    ranked.sort(reverse=True)
    return [(path, count) for _, path, count in ranked]
