"""Small file-like helpers: sniff without consuming, and replay a detection sample.

Detection peeks at the start of a stream and hands the bytes back in front of it (the
frictionless habit), so a feed streamed over HTTP is never fetched twice.
"""

from __future__ import annotations

from typing import BinaryIO, Protocol


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def read_upto(stream: Readable, size: int) -> bytes:
    """Up to `size` bytes: fewer only at the end of the stream (read() may return less)."""
    parts: list[bytes] = []
    got = 0
    while got < size:
        chunk = stream.read(size - got)
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


class PrefixedStream:
    """`prefix` followed by the rest of `stream`."""

    def __init__(self, prefix: bytes, stream: Readable) -> None:
        self._prefix = prefix
        self._stream = stream

    def read(self, size: int = -1) -> bytes:
        if self._prefix:
            if size is None or size < 0:
                data, self._prefix = self._prefix, b""
                return data + self._stream.read()
            data, self._prefix = self._prefix[:size], self._prefix[size:]
            return data
        return self._stream.read(size)


class Rewindable:
    """Records what is read until `rewind()`, then replays it once before the rest.

    Memory is bounded by what detection reads (a few MB at most), after which the buffer is
    released as it is replayed.
    """

    def __init__(self, stream: Readable) -> None:
        self._stream = stream
        self._recorded: list[bytes] | None = []
        self._replay = b""

    def read(self, size: int = -1) -> bytes:
        if self._replay:
            if size is None or size < 0:
                data, self._replay = self._replay, b""
                return data + self._stream.read()
            data, self._replay = self._replay[:size], self._replay[size:]
            return data
        data = self._stream.read(size)
        if self._recorded is not None:
            self._recorded.append(data)
        return data

    def rewind(self) -> None:
        if self._recorded is None:
            raise RuntimeError("a Rewindable stream can be rewound only once")
        self._replay = b"".join(self._recorded) + self._replay
        self._recorded = None


class LimitedStream:
    """At most `limit` bytes of `stream` (the rest of the file is not this reader's)."""

    def __init__(self, stream: BinaryIO | Readable, limit: int) -> None:
        self._stream = stream
        self._left = limit

    def read(self, size: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        if size is None or size < 0 or size > self._left:
            size = self._left
        data = self._stream.read(size)
        self._left -= len(data)
        return data
