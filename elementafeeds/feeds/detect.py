"""Detection from a sample: format (CSV, XML, JSON — or an HTML page that is no feed at all),
encoding (BOM, then strict UTF-8, then charset-normalizer, unless configured) and, through the
format's reader, the dialect or record path.

Detection reads the first `SAMPLE_BYTES` (a reader may read a little more, e.g. XML to find
its repeated element) and never the whole feed: it runs on 500 MB files and on HTTP streams.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from typing import Any

from elementafeeds.errors import FeedError
from elementafeeds.feeds.contracts import FeedSpec, RecordProblem
from elementafeeds.feeds.decompress import sniff_compression
from elementafeeds.feeds.normalize import clean_text
from elementafeeds.feeds.streams import Readable, read_upto

SAMPLE_BYTES = 256 * 1024
BOMS = (
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xfe\xff", "utf-16-be"),
    (b"\xff\xfe", "utf-16-le"),
)
_ASCII_PROBE = "\n\r,;\t|\"'<>&{}[]:#=- abcAZ09"


class HtmlPageError(FeedError):
    """The feed's URL answered with an HTML page (a login, an error, a CDN challenge)."""


@dataclass
class Detection:
    spec: FeedSpec
    notes: list[RecordProblem] = field(default_factory=list)


def bom_of(head: bytes) -> tuple[str | None, int]:
    for bom, name in BOMS:
        if head.startswith(bom):
            return name, len(bom)
    return None, 0


def codec_name(name: str) -> str:
    """The canonical Python codec name; FeedError for a name Python does not know."""
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise FeedError(f"unknown encoding '{name}'",
                        hint="use a Python codec name such as utf-8, cp1252, latin-1, utf-16") \
            from None


def is_ascii_compatible(encoding: str) -> bool:
    """Whether the structural ASCII bytes mean themselves (so byte-level cutting is safe)."""
    name = decoder_name(encoding)
    if name.startswith(("utf-16", "utf-32")):
        return False
    try:
        return _ASCII_PROBE.encode(name) == _ASCII_PROBE.encode("ascii")
    except (UnicodeError, LookupError):
        return False


def decoder_name(encoding: str) -> str:
    """utf-8-sig only makes sense at the start of a file; chunks decode as plain utf-8."""
    name = codec_name(encoding)
    return "utf-8" if name == "utf-8-sig" else name


def _valid_utf8(head: bytes, at_eof: bool) -> bool:
    try:
        head.decode("utf-8")
        return True
    except UnicodeDecodeError as exc:
        # a multi-byte character cut by the end of the sample is not an error
        return not at_eof and exc.start >= len(head) - 3 and exc.reason == "unexpected end of data"


def detect_encoding(head: bytes, configured: str | None, at_eof: bool,
                    notes: list[RecordProblem] | None = None) -> tuple[str, int]:
    """(codec, BOM length). A BOM wins over configuration: it cannot be there by accident."""
    bom, length = bom_of(head)
    if bom is not None:
        family = decoder_name(bom).split("-")[:2]
        if configured not in (None, "auto") and notes is not None and \
                decoder_name(configured).split("-")[:2] != family:
            notes.append(RecordProblem(None, None, f"the feed starts with a {bom} byte-order "
                                       f"mark; read as {bom}, not the configured {configured}"))
        return codec_name(bom), length
    if configured not in (None, "auto"):
        return codec_name(configured), 0
    if _valid_utf8(head, at_eof):
        return "utf-8", 0
    guess = guess_legacy(head)
    if notes is not None:
        notes.append(RecordProblem(None, None, f"the sample is not valid UTF-8; read as {guess} "
                                   "(a guess: set the feed's csv.encoding if letters look wrong)"))
    return guess, 0


def sample_text(head: bytes, encoding: str, at_eof: bool) -> str:
    """The sample as text, without its BOM and without a line cut by the sample's end."""
    _, bom_len = bom_of(head)
    text = head[bom_len:].decode(decoder_name(encoding), errors="replace")
    if not at_eof:
        cut = max(text.rfind("\n"), text.rfind("\r"))
        text = text[:cut + 1] if cut >= 0 else text
    return text


_WESTERN_SYMBOLS = set("€£°©®«»–—‘’“”…×½•™§¢¥")


def guess_legacy(head: bytes) -> str:
    """The 8-bit encoding of a sample that is not UTF-8.

    Western European first (the feeds this tool serves are mostly Nordic and EU): cp1252 when
    its reading of the high bytes is letters and common symbols (`Tröja`, `12,99 €`);
    otherwise charset-normalizer's best guess (it alone picks Mac encodings for short,
    repetitive Swedish samples: measured)."""
    high = bytes(b for b in head if b >= 0x80)
    try:
        text = high.decode("cp1252")
    except UnicodeDecodeError:
        text = ""
    if text and sum(ch.isalpha() or ch in _WESTERN_SYMBOLS for ch in text) >= 0.9 * len(text):
        return "cp1252"
    from charset_normalizer import from_bytes

    best = from_bytes(head[:SAMPLE_BYTES]).best()
    guess = codec_name(best.encoding) if best is not None else "cp1252"
    return "cp1252" if guess in ("ascii", "utf-8") else guess


_XML_PROLOG = re.compile(r"^(?:\s+|<\?.*?\?>|<!--.*?-->)*", re.DOTALL)
_HTML_START = re.compile(r"<(?:!doctype\s+html|html[\s>]|head[\s>]|body[\s>])", re.IGNORECASE)
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


def _head_text(head: bytes) -> str:
    bom, length = bom_of(head)
    encoding = bom if bom and not bom.startswith("utf-8") else "latin-1"
    return head[length:length + 65536].decode(encoding, errors="replace")


def check_not_html(head: bytes, source: str = "the feed") -> None:
    """Raise HtmlPageError when the sample is an HTML document instead of a feed."""
    text = _head_text(head)
    start = text[_XML_PROLOG.match(text).end():]  # type: ignore[union-attr]
    if not _HTML_START.match(start[:200]):
        return
    found = _TITLE.search(text)
    title = clean_text(found.group(1))[:80] if found else ""
    said = f" titled '{title}'" if title else ""
    raise HtmlPageError(
        f"{source} is an HTML page{said}, not a product feed",
        hint="the server answered with a web page (an error, a login or a bot check); "
             "open the url in a browser, check its token, or ask the network",
    )


def sniff_format(head: bytes) -> str:
    """xml, json or csv from the first non-blank character of the sample."""
    text = _head_text(head[:4096]).lstrip("\ufeff \t\r\n\x00")
    if text.startswith("<"):
        return "xml"
    if text.startswith("{") or re.match(r"\[\s*[\[{\"\d\]tfn-]", text):
        return "json"
    return "csv"


def detect_stream(stream: Readable, feed: Any, source: str = "the feed") -> Detection:
    """Detect the spec of a decompressed feed stream. The stream is consumed; rewind it (or
    reopen the file) to read the records."""
    from elementafeeds.feeds.registry import get_reader

    head = read_upto(stream, SAMPLE_BYTES)
    at_eof = len(head) < SAMPLE_BYTES
    if not head.strip(b" \t\r\n\x00\xef\xbb\xbf"):
        raise FeedError(f"{source} is empty ({len(head)} bytes)",
                        hint="the network published an empty file; check the url or try later")
    kind = sniff_compression(head)
    if kind is not None:
        raise FeedError(f"{source} is still {kind}-compressed",
                        hint="fetch it with fetch_feed(), which decompresses by content")
    check_not_html(head, source)
    fmt = feed.format if feed.format != "auto" else sniff_format(head)
    notes: list[RecordProblem] = []
    reader = get_reader(fmt)
    spec = reader.detect(head, stream, feed, at_eof, notes=notes)
    return Detection(spec, notes)
