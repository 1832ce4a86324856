"""Carry a change made to ruamel's re-emitted text over to the original text.

ruamel.yaml re-emits a document in one indentation style and hangs a new entry after the
comments that trail the previous one. Given the document as the operator wrote it, ruamel's
emission of it unchanged (`before`) and changed (`after`), `splice` applies only the
before→after line changes to the original: lines are matched ignoring whitespace, inserted
lines are re-indented like their nearest sibling (or parent) in the original, and an insertion
moves above blank lines and comments of an outer level, so a comment that introduces the next
key stays in front of it. The caller parses the result and checks it against `after`.
"""

from __future__ import annotations

import difflib
import re

_SPACE = re.compile(r"\s+")




def _norm(line: str) -> str:
    return _SPACE.sub("", line)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def splice(original: str, before: str, after: str) -> str | None:
    """Apply the before→after line changes to `original`; None when they cannot be placed."""
    orig = original.splitlines(keepends=True)
    r0 = before.splitlines(keepends=True)
    r1 = after.splitlines(keepends=True)
    to_orig: dict[int, int] = {}
    matcher = difflib.SequenceMatcher(None, [_norm(x) for x in orig], [_norm(x) for x in r0],
                                      autojunk=False)
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            to_orig[block.b + k] = block.a + k
    edits: list[tuple[int, int, list[str]]] = []  # (orig start, orig end, new lines)
    ops = difflib.SequenceMatcher(None, r0, r1, autojunk=False).get_opcodes()
    for tag, i1, i2, j1, j2 in ops:
        if tag == "equal":
            continue
        new = r1[j1:j2]
        if tag == "insert":
            i1 = _settle(r0, i1, new)
            if i1 == 0:
                start = 0
            elif (i1 - 1) in to_orig:
                start = to_orig[i1 - 1] + 1
            else:
                return None
            anchor = _anchor(r0, i1, new)
            if anchor is not None and anchor not in to_orig:
                return None
            delta = 0 if anchor is None else _indent(orig[to_orig[anchor]]) - _indent(r0[anchor])
            edits.append((start, start, _shift(new, delta)))
            continue
        span = [to_orig.get(i) for i in range(i1, i2)]
        if any(s is None for s in span) or span != list(range(span[0], span[0] + len(span))):
            return None
        delta = _indent(orig[span[0]]) - _indent(r0[i1])
        edits.append((span[0], span[-1] + 1, _shift(new, delta)))
    for start, end, new in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        orig[start:end] = new
    return "".join(orig)


def _settle(r0: list[str], at: int, new: list[str]) -> int:
    """Move an insertion above blank lines and comments that belong to an outer level."""
    first = next((line for line in new if line.strip()), "")
    stripped = first.lstrip(" ")
    content = _indent(first) + (2 if stripped.startswith("- ") else 0)
    while at > 0:
        line = r0[at - 1]
        outer = content == 0 or _indent(line) < content
        if not line.strip() or (line.lstrip().startswith("#") and outer):
            at -= 1
            continue
        break
    return at


def _anchor(r0: list[str], at: int, new: list[str]) -> int | None:
    """The line whose indentation the inserted lines follow: the nearest earlier sibling
    (same indentation), else the nearest earlier line (the parent)."""
    first = next((line for line in new if line.strip()), None)
    if first is None:
        return None
    want = _indent(first)
    parent = None
    for i in range(at - 1, -1, -1):
        line = r0[i]
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if _indent(line) == want:
            return i
        if _indent(line) < want and parent is None:
            parent = i
            break
    return parent


def _shift(lines: list[str], delta: int) -> list[str]:
    if delta == 0:
        return list(lines)
    out = []
    for line in lines:
        if not line.strip():
            out.append(line)
        elif delta > 0:
            out.append(" " * delta + line)
        else:
            out.append(line[min(-delta, _indent(line)):])
    return out
