"""XML detection: the record element, the encoding, and whether the feed needs repair.

The record element, when not configured, is the most repeated element that has children (or
only attributes), counted by path over the first few MB; elements inside an already repeated
element do not compete (an item's repeated `wp:postmeta` is not the record), and the usual
record names (item, product, offer, entry …) win ties. A configured name (`item`, `g:item`)
is located in the sample to get its path; when the sample does not reach it, records are
matched by that name wherever they are.

A strict parse of the sample decides the rest: an undefined entity or a bare `&` turns on
the repair stream (TradeDoubler), bytes that are not the declared encoding turn on an
encoding override guessed by charset-normalizer — each with a note for `ef preview`.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from elementafeeds.errors import FeedError, HostileFeedError
from elementafeeds.feeds.contracts import FeedSpec, RecordProblem
from elementafeeds.feeds.detect import _head_text, bom_of, guess_legacy
from elementafeeds.feeds.streams import LimitedStream, Readable
from elementafeeds.feeds.xml_reader import (
    _ENCODING_ERRORS,
    _ENTITY_ERRORS,
    DETECT_BYTES,
    ENOUGH,
    _check_dtd,
    _iterparse,
    _Keys,
    record_counts,
    translate,
)
from elementafeeds.feeds.xml_repair import EntityRepairStream

_DECLARED = re.compile(r"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
_DOCTYPE = re.compile(r"<!DOCTYPE[^\[>]*\[(.*?)\]\s*>", re.DOTALL | re.IGNORECASE)


class _Replay:
    """Reads of head + stream, kept so a detection attempt can start again from byte 0."""

    def __init__(self, head: bytes, stream: Readable) -> None:
        self._data = bytearray(head)
        self._stream = stream
        self._eof = False

    def reader(self) -> Readable:
        replay = self

        class _Reader:
            pos = 0

            def read(self, size: int = -1) -> bytes:
                size = 65536 if size is None or size < 0 else size
                while self.pos + size > len(replay._data) and not replay._eof and \
                        len(replay._data) < DETECT_BYTES:
                    more = replay._stream.read(65536)
                    if not more:
                        replay._eof = True
                    replay._data += more
                data = bytes(replay._data[self.pos:self.pos + size])
                self.pos += len(data)
                return data

        return _Reader()


class _Scan:
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.found: str | None = None
        self.complete = False


def _scan(source: Readable, encoding: str | None, configured: str | None) -> _Scan:
    keys = _Keys()
    scan = _Scan()
    stack: list[str] = []
    ends = 0
    want = configured.strip() if configured else None
    context = _iterparse(source, encoding, ("start", "end"))
    for event, el in context:
        if event == "start":
            if not stack:
                _check_dtd(el)
            name = keys.tag(el) or "?"
            stack.append(name)
            if want is not None and (name == want or name.split(":")[-1] == want):
                scan.found = "/" + "/".join(stack)
                return scan
            continue
        path = "/" + "/".join(stack)
        stack.pop()
        text = el.text
        if len(el) or (el.attrib and not (text and text.strip())):
            scan.counts[path] += 1
        el.clear(keep_tail=True)
        ends += 1
        if want is None and ends % 500 == 0:
            ranked = record_counts(scan.counts)
            if ranked and ranked[0][1] >= ENOUGH:
                return scan
    scan.complete = True
    return scan


def _kind(exc: Exception) -> str:
    text = str(getattr(exc, "msg", None) or exc)
    if "amplification" in text or "loop" in text:
        return "hostile"
    if any(marker in text for marker in _ENTITY_ERRORS):
        return "entity"
    if any(marker in text for marker in _ENCODING_ERRORS):
        return "encoding"
    return "other"


def detect_xml(head: bytes, stream: Readable, feed: Any,
               notes: list[RecordProblem] | None) -> FeedSpec:
    from lxml import etree

    prolog = _DOCTYPE.search(_head_text(head[:65536]))
    if prolog and "<!ENTITY" in prolog.group(1).upper():
        raise HostileFeedError(
            "the XML feed declares entities in its DOCTYPE; ElementaFeeds never expands "
            "XML entities, and real product feeds declare none",
            hint="this is how entity-expansion and file-disclosure attacks start")
    replay = _Replay(head, stream)
    encoding: str | None = None
    declared = declared_encoding(head)
    repair = False
    configured = feed.xml.record
    while True:
        limited = LimitedStream(replay.reader(), DETECT_BYTES)
        source: Any = EntityRepairStream(limited) if repair else limited
        try:
            scan = _scan(source, encoding, configured)
            break
        except etree.XMLSyntaxError as exc:
            if limited._left <= 0:  # our own limit cut the sample: not the feed's fault
                scan = _Scan()
                break
            kind = _kind(exc)
            if kind == "entity" and not repair:
                repair = True
                _note(notes, "the feed is not well-formed XML (a bare & or an HTML entity "
                      f"such as &aring;: {exc}); it is read with those repaired")
                continue
            if kind == "encoding" and encoding is None:
                encoding = guess_legacy(head)
                _note(notes, f"the feed's bytes are not its declared encoding ({exc}); "
                      f"read as {encoding} (a guess)")
                continue
            raise translate(exc) from exc
    return _spec(scan, feed, encoding or declared, repair, configured, notes)


def declared_encoding(head: bytes) -> str:
    """The encoding libxml2 will use: the BOM's, the XML declaration's, or UTF-8 — spelled
    the way libxml2 knows it (it refuses Python spellings such as utf-16-le)."""
    bom, _ = bom_of(head)
    if bom is not None:
        return "UTF-8" if bom.startswith("utf-8") else bom.split("-")[0].upper() + "-" + \
            bom.split("-")[1]
    found = _DECLARED.match(head[:512].decode("latin-1"))
    return found.group(1) if found else "UTF-8"


def _spec(scan: _Scan, feed: Any, encoding: str | None, repair: bool,
          configured: str | None, notes: list[RecordProblem] | None) -> FeedSpec:
    if configured:
        if scan.found:
            path = scan.found
        elif scan.complete:
            raise FeedError(f"the XML feed has no <{configured}> element",
                            hint="check the feed's xml.record (or leave it out to detect it)")
        else:
            path = configured.strip()
            _note(notes, f"<{configured}> is not in the first "
                  f"{DETECT_BYTES // 1024 // 1024} MB; records are matched by name")
    else:
        ranked = record_counts(scan.counts)
        if not ranked:
            raise FeedError("no repeated element found to read as records in the XML feed",
                            hint="set the feed's xml.record to the element of one product")
        path = ranked[0][0]
    return FeedSpec("xml", encoding or "UTF-8", None, None, False, 0, 0,
                    feed.csv.max_field_bytes, path, None, repair=repair)


def _note(notes: list[RecordProblem] | None, message: str) -> None:
    if notes is not None:
        notes.append(RecordProblem(None, None, message))
