"""Decompression by content (magic bytes, never the file name), bounded and streaming.

Every decompressor here is a file-like `read(n)` that produces at most `n` bytes per call
(`max_length`), so a bomb never inflates in one step; output is bounded by a size limit and by
a ratio to the compressed input (checked after a grace amount, so small, very repetitive
feeds pass). Zip archives must hold exactly one feed file; a member whose name escapes
(`../`, absolute, drive letters) or that is a symlink makes the whole archive hostile, even
though members are never extracted under their own names.
"""

from __future__ import annotations

import bz2
import lzma
import stat
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from elementafeeds.errors import FeedError, HostileFeedError

READ_BYTES = 256 * 1024
MAGIC = {
    b"\x1f\x8b": "gzip",
    b"PK\x03\x04": "zip",
    b"PK\x05\x06": "zip",  # an empty archive
    b"BZh": "bz2",
    b"\xfd7zXZ\x00": "xz",
}
JUNK_MEMBERS = ("__MACOSX/", ".DS_Store", "Thumbs.db", "desktop.ini")


def sniff_compression(head: bytes) -> str | None:
    """gzip, zip, bz2, xz or None, from the first bytes."""
    for magic, kind in MAGIC.items():
        if head.startswith(magic):
            return kind
    return None


def human_bytes(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if abs(n) < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"  # pragma: no cover


@dataclass(frozen=True)
class Limits:
    """Bounds of a decompressed feed: total size, and ratio to the compressed size."""

    max_bytes: int
    max_ratio: float = 200.0
    ratio_grace_bytes: int = 32 * 1024 * 1024

    def check(self, produced: int, consumed: int) -> None:
        if produced > self.max_bytes:
            raise HostileFeedError(
                f"the feed is larger than {human_bytes(self.max_bytes)} after decompression",
                hint="raise the feed's limits.max_bytes if it really is this large",
            )
        if produced > self.ratio_grace_bytes and produced > self.max_ratio * max(consumed, 1):
            raise HostileFeedError(
                f"decompression stopped after {human_bytes(produced)} from "
                f"{human_bytes(consumed)} of compressed data: more than {self.max_ratio:.0f} "
                "times its size, which is a decompression bomb, not a product feed",
            )


class DecompressingReader:
    """gzip (multi-member), bz2 or xz over a raw stream, as a bounded file-like object."""

    def __init__(self, raw: BinaryIO, kind: str, limits: Limits) -> None:
        self._raw, self.kind, self._limits = raw, kind, limits
        self._decoder = self._new_decoder()
        self._pending = b""
        self._raw_eof = False
        self._done = False
        self.consumed = 0
        self.produced = 0

    def _new_decoder(self):  # type: ignore[no-untyped-def]
        if self.kind == "gzip":
            return zlib.decompressobj(wbits=31)
        if self.kind == "bz2":
            return bz2.BZ2Decompressor()
        if self.kind == "xz":
            return lzma.LZMADecompressor(format=lzma.FORMAT_XZ)
        raise FeedError(f"unsupported compression {self.kind}")

    def read(self, size: int = -1) -> bytes:
        if size == 0:
            return b""  # ijson probes with read(0): it must consume nothing
        if size is None or size < 0:
            return b"".join(iter(lambda: self.read(READ_BYTES), b""))
        out = b""
        while not out and not self._done:
            out = self._step(max(1, size))
        self.produced += len(out)
        self._limits.check(self.produced, self.consumed)
        return out

    def _read_raw(self) -> bytes:
        if self._raw_eof:
            return b""
        chunk = self._raw.read(READ_BYTES)
        if not chunk:
            self._raw_eof = True
        self.consumed += len(chunk)
        return chunk

    def _step(self, size: int) -> bytes:
        decoder = self._decoder
        if not self._pending and self._needs_input():
            self._pending = self._read_raw()
        try:
            out = decoder.decompress(self._pending, size)
        except (zlib.error, OSError, EOFError, lzma.LZMAError) as exc:
            raise FeedError(
                f"the {self.kind} data is corrupt ({exc})",
                hint="fetch the feed again; if it persists, the server sends a broken file",
            ) from exc
        self._pending = decoder.unconsumed_tail if self.kind == "gzip" else b""
        if decoder.eof:
            self._next_member(decoder.unused_data)
        elif not out and not self._pending and self._raw_eof and self._needs_input():
            raise FeedError(
                f"the {self.kind} stream ends early: the feed is truncated "
                f"({human_bytes(self.consumed)} compressed, {human_bytes(self.produced)} "
                "unpacked before the cut)",
                hint="fetch it again; a download cut short or an incomplete file on the server",
            )
        return out

    def _next_member(self, rest: bytes) -> None:
        """Concatenated members continue; trailing zeros or garbage end the feed (as gzip -d)."""
        if not rest:
            rest = self._read_raw()
        if rest and sniff_compression(rest) == self.kind:
            self._decoder, self._pending = self._new_decoder(), rest
        else:
            self._done = True

    def _needs_input(self) -> bool:
        if self.kind == "gzip":
            return True
        return bool(getattr(self._decoder, "needs_input", True))


class GuardedReader:
    """Any reader whose output is bounded by `limits` against a known compressed size."""

    def __init__(self, inner: BinaryIO, limits: Limits, consumed: Callable[[], int]) -> None:
        self._inner, self._limits, self._consumed = inner, limits, consumed
        self.produced = 0

    def read(self, size: int = -1) -> bytes:
        data = self._inner.read(READ_BYTES if size is None or size < 0 else size)
        self.produced += len(data)
        self._limits.check(self.produced, self._consumed())
        return data

    def close(self) -> None:
        self._inner.close()


def check_member_name(name: str, is_symlink: bool) -> None:
    """Refuse members that could escape an extraction folder: a hostile archive."""
    path = PurePosixPath(name.replace("\\", "/"))
    if is_symlink:
        raise HostileFeedError(f"the zip archive holds a symbolic link ({name!r}); refused")
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":") or \
            ".." in path.parts:
        raise HostileFeedError(
            f"the zip archive holds a member whose path escapes the archive ({name!r}); refused"
        )


def _feed_member(archive: zipfile.ZipFile) -> zipfile.ZipInfo:
    members = []
    for info in archive.infolist():
        mode = info.external_attr >> 16
        check_member_name(info.filename, stat.S_ISLNK(mode))
        if info.is_dir() or any(part in info.filename for part in JUNK_MEMBERS):
            continue
        members.append(info)
    if len(members) != 1:
        names = ", ".join(m.filename for m in members[:5]) or "no files"
        raise FeedError(
            f"the zip archive holds {len(members)} files ({names}); a feed archive must hold "
            "exactly one feed file",
            hint="ask the network for a single-file download, or unpack it yourself",
        )
    return members[0]


def open_zip_member(source: BinaryIO | Path, limits: Limits) -> GuardedReader:
    """The single feed file of a (seekable) zip archive, checked and bounded."""
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as exc:
        raise FeedError(f"the zip archive cannot be read ({exc})",
                        hint="fetch it again; the file may be truncated") from exc
    try:
        info = _feed_member(archive)
        limits.check(info.file_size, info.compress_size)  # the declared sizes, checked first
        member = archive.open(info)
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError) as exc:
        archive.close()
        raise FeedError(f"the zip archive cannot be read ({exc})") from exc
    except BaseException:
        archive.close()
        raise
    return GuardedReader(_ZipErrors(member, archive), limits,  # type: ignore[arg-type]
                         lambda: info.compress_size)


class _ZipErrors:
    """zipfile raises BadZipFile for CRC errors and truncation; make them FeedErrors."""

    def __init__(self, inner: BinaryIO, archive: zipfile.ZipFile) -> None:
        self._inner = inner
        self._archive = archive

    def read(self, size: int = -1) -> bytes:
        try:
            return self._inner.read(size)
        except (zipfile.BadZipFile, EOFError, zlib.error) as exc:
            raise FeedError(f"the zip archive is corrupt or truncated ({exc})") from exc

    def close(self) -> None:
        self._inner.close()
        self._archive.close()


class ZipStreamReader:
    """The first file of a zip read from a non-seekable stream, through its local header.

    For previews of remote archives: nothing else is needed to show the first records. The
    full fetch downloads the archive and uses `open_zip_member`, which checks every member.
    """

    def __init__(self, raw: BinaryIO, limits: Limits) -> None:
        self._raw, self._limits = raw, limits
        self.consumed = 0
        self.produced = 0
        self._buffer = b""
        self._decoder: zlib._Decompress | None = None
        self._stored_left: int | None = None
        self._open_member()

    def _take(self, n: int) -> bytes:
        while len(self._buffer) < n:
            chunk = self._raw.read(READ_BYTES)
            if not chunk:
                raise FeedError("the zip archive ends inside a header: it is truncated")
            self.consumed += len(chunk)
            self._buffer += chunk
        data, self._buffer = self._buffer[:n], self._buffer[n:]
        return data

    def _open_member(self) -> None:
        while True:
            header = self._take(30)
            if header[:4] != b"PK\x03\x04":
                raise FeedError("the zip archive holds no feed file")
            flags, method = struct.unpack("<HH", header[6:10])
            csize, _, name_len, extra_len = struct.unpack("<IIHH", header[18:30])
            name = self._take(name_len).decode("utf-8" if flags & 0x800 else "cp437")
            self._take(extra_len)
            check_member_name(name, False)
            if name.endswith("/") or any(part in name for part in JUNK_MEMBERS):
                if flags & 0x08:
                    raise FeedError("cannot skip a zip member of unknown size while streaming")
                self._take(csize)
                continue
            if method == 8:
                self._decoder = zlib.decompressobj(-15)
            elif method == 0 and not flags & 0x08:
                self._stored_left = csize
            else:
                raise FeedError(f"the zip member {name!r} uses an unsupported method {method}")
            return

    def read(self, size: int = -1) -> bytes:
        if size == 0:
            return b""
        size = READ_BYTES if size is None or size < 0 else size
        out = b""
        while not out:
            if not self._buffer:
                chunk = self._raw.read(READ_BYTES)
                if not chunk:
                    if self._decoder is not None and not self._decoder.eof:
                        raise FeedError("the zip archive is truncated")
                    return b""
                self.consumed += len(chunk)
                self._buffer = chunk
            if self._stored_left is not None:
                take = min(size, self._stored_left, len(self._buffer))
                out, self._buffer = self._buffer[:take], self._buffer[take:]
                self._stored_left -= take
                if not take:
                    return b""
            else:
                assert self._decoder is not None
                if self._decoder.eof:
                    return b""
                try:
                    out = self._decoder.decompress(self._buffer, size)
                except zlib.error as exc:
                    raise FeedError(f"the zip data is corrupt ({exc})") from exc
                self._buffer = self._decoder.unconsumed_tail
        self.produced += len(out)
        self._limits.check(self.produced, self.consumed)
        return out


def open_decompressed(raw: BinaryIO, kind: str | None, limits: Limits,
                      seekable_path: Path | None = None) -> BinaryIO:
    """A reader of the feed's bytes whatever the compression (`kind` from sniff)."""
    if kind is None:
        return raw
    if kind == "zip":
        if seekable_path is not None:
            return open_zip_member(seekable_path, limits)  # type: ignore[return-value]
        return ZipStreamReader(raw, limits)  # type: ignore[return-value]
    return DecompressingReader(raw, kind, limits)  # type: ignore[return-value]


def copy_to(reader: BinaryIO, target: BinaryIO) -> int:
    total = 0
    while chunk := reader.read(1024 * 1024):
        target.write(chunk)
        total += len(chunk)
    return total
