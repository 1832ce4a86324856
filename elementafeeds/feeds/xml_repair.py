"""Repair the two ways real XML feeds break the rules: bare `&` and HTML entities.

TradeDoubler sends `imageUrl` with a raw `&` and text with `&aring;`, `&ouml;`, `&nbsp;`,
which XML does not define; a strict parser stops at the first one. This stream rewrites them
on the fly — `&aring;` → `&#229;`, a bare `&` → `&amp;` — outside CDATA sections and comments
(where a raw `&` is legal and must stay as it is). It never adds entity definitions, so it
opens no door to entity expansion. Only for encodings whose ASCII bytes mean ASCII.
"""

from __future__ import annotations

import re
from html.entities import name2codepoint

from elementafeeds.feeds.streams import Readable

XML_ENTITIES = {b"amp", b"lt", b"gt", b"quot", b"apos"}
_HTML = {name.encode("ascii"): code for name, code in name2codepoint.items()}
_MARK = re.compile(rb"&|<!\[CDATA\[|<!--")
_ENTITY = re.compile(rb"&(?:#[0-9]{1,7};|#x[0-9a-fA-F]{1,6};|([A-Za-z][A-Za-z0-9]{0,31});)?")
_HOLD = 48  # longest markup we might have to see whole: `&` + a 32-char name + `;`, `<![CDATA[`


class EntityRepairStream:
    """A file-like wrapper: `read(n)` returns repaired bytes (a little more or less than n)."""

    def __init__(self, stream: Readable) -> None:
        self._stream = stream
        self._carry = b""
        self._inside: bytes | None = None  # b"]]>" or b"-->" while in CDATA / a comment
        self.repairs = 0

    def read(self, size: int = -1) -> bytes:
        if size == 0:
            return b""
        while True:
            data = self._stream.read(65536 if size is None or size < 0 else max(size, 4096))
            eof = not data
            buf = self._carry + data
            if eof:
                self._carry = b""
                return self._repair(buf, final=True) if buf else b""
            out = self._repair(buf, final=False)
            if out:
                return out

    def _repair(self, buf: bytes, final: bool) -> bytes:
        out: list[bytes] = []
        pos = 0
        limit = len(buf) if final else max(0, len(buf) - _HOLD)
        while pos < len(buf):
            if self._inside is not None:
                end = buf.find(self._inside, pos)
                if end < 0:
                    keep = len(buf) if final else max(pos, len(buf) - 2)
                    out.append(buf[pos:keep])
                    pos = keep
                    break
                out.append(buf[pos:end + 3])
                pos, self._inside = end + 3, None
                continue
            found = _MARK.search(buf, pos)
            if found is None or (not final and found.start() >= limit):
                # nothing to repair before the held-back tail (a mark may straddle the end)
                cut = len(buf) if final else max(pos, limit)
                out.append(buf[pos:cut])
                pos = cut
                break
            out.append(buf[pos:found.start()])
            mark = found.group()
            if mark == b"<![CDATA[":
                out.append(mark)
                pos, self._inside = found.end(), b"]]>"
            elif mark == b"<!--":
                out.append(mark)
                pos, self._inside = found.end(), b"-->"
            else:
                pos = self._entity(buf, found.start(), out)
        self._carry = buf[pos:]
        return b"".join(out)

    def _entity(self, buf: bytes, at: int, out: list[bytes]) -> int:
        match = _ENTITY.match(buf, at)
        assert match is not None  # the pattern always matches at least "&"
        name = match.group(1)
        if match.end() == at + 1:  # a bare &
            out.append(b"&amp;")
            self.repairs += 1
        elif name is None or name in XML_ENTITIES:
            out.append(match.group())
        elif name in _HTML:
            out.append(b"&#%d;" % _HTML[name])
            self.repairs += 1
        else:
            out.append(b"&amp;" + buf[at + 1:match.end()])
            self.repairs += 1
        return match.end()
