"""The plain data that crosses the feeds layer's borders: fetch results, specs, chunk tasks.

Everything here is a frozen dataclass or a dataclass of plain fields, so it pickles cheaply to
the chunk pool's worker processes (and, one day, to other machines). Readers never put live
objects (open files, parsers) in these.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, Protocol


@dataclass(frozen=True)
class FetchResult:
    """A feed made local and decompressed, ready to read.

    `path` is None only when the server said 304 Not Modified. When `temporary` is true the
    caller must delete `path`; the `fetched()` context manager does that on every path.
    """

    path: Path | None
    not_modified: bool
    etag: str | None
    last_modified: str | None
    bytes_fetched: int
    bytes_decompressed: int
    temporary: bool
    compression: str | None = None
    """gzip, zip, bz2, xz or None — detected from the content, never from the name."""


@dataclass(frozen=True)
class FeedSpec:
    """Everything a worker process needs to read the feed file (detected once, in the parent).

    `record_path` is the XML record element as a path of names as written in the feed
    (`/rss/channel/item`, or a bare name such as `g:item` when configured and not located in
    the sample) or the ijson prefix of a JSON record (`item`, `products.item`; `""` means JSON
    lines, one record per line).
    """

    format: str  # "csv" | "xml" | "json" (a plugin reader may add its own)
    encoding: str
    delimiter: str | None
    quotechar: str | None
    has_header: bool
    skip_lines: int
    skip_footer_lines: int
    max_field_bytes: int
    record_path: str | None
    columns: tuple[str, ...] | None
    repair: bool = False
    """XML only: bare `&` and HTML entities (`&aring;`) are repaired before parsing, because
    some networks (TradeDoubler) send such not-well-formed XML. Set by detection, never blindly."""

    @property
    def dialect(self) -> dict[str, Any] | None:
        """The CSV dialect as shown to operators (None for XML/JSON)."""
        if self.format != "csv":
            return None
        return {
            "delimiter": self.delimiter,
            "quotechar": self.quotechar,
            "header": self.has_header,
            "skip_lines": self.skip_lines,
            "skip_footer_lines": self.skip_footer_lines,
        }


@dataclass(frozen=True)
class ChunkTask:
    """One unit of work for a pool worker: plain, picklable fields only.

    CSV and JSON-lines feeds: `path` is the feed file and `[start, end)` a byte range cut at
    record boundaries. XML/JSON documents: `path` is a chunk file written by `plan_chunks`
    (`start=0, end=-1`), consumed (deleted) by `read_chunk` so disk use stays bounded.
    """

    index: int
    path: str
    start: int
    end: int
    spec: FeedSpec
    first_record: int
    """1-based ordinal of the chunk's first record in the feed (for messages)."""
    first_line: int = 0
    """1-based physical line of the chunk's first byte in the feed (0: not known)."""
    check_end: bool = False
    """`end` is a guess (`plan_chunks(guess=…)`): the reader confirms it is a record
    boundary, or reports the chunk `misaligned`."""

    @property
    def is_chunk_file(self) -> bool:
        return self.end == -1


@dataclass
class RecordProblem:
    """Something wrong with one record that does not stop the run (data, not an exception)."""

    record: int | None
    column: str | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"record": self.record, "column": self.column, "message": self.message}


@dataclass
class ChunkRead:
    records: list[dict[str, Any]] = field(default_factory=list)
    problems: list[RecordProblem] = field(default_factory=list)
    misaligned: bool = False
    """The task's guessed end is not a record boundary: records and problems are void, and
    the chunks from this one on must be planned again exactly."""


class ChunkStream:
    """A task's records as they are parsed: a worker processes each record while it is still
    in the CPU cache (measured: reading a 500-record chunk whole first made processing 5–15 %
    slower, and more on larger chunks). `problems` fills as records are read; `misaligned`
    (as in ChunkRead) is known once `records` is exhausted."""

    def __init__(self, records: Iterator[dict[str, Any]], problems: list[RecordProblem],
                 misaligned: Callable[[], bool] = lambda: False) -> None:
        self.records = records
        self.problems = problems
        self._misaligned = misaligned

    @property
    def misaligned(self) -> bool:
        return self._misaligned()


class Row(NamedTuple):
    """A record as streamed by a reader, with its ordinal and any problems found in it."""

    ordinal: int
    record: dict[str, Any]
    problems: list[RecordProblem] | None


class BinaryStream(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class FeedReader(Protocol):
    """What a reader plugin provides (entry-point group `elementafeeds.readers`).

    A reader is a class; one instance per process is created lazily by `registry.get_reader`.
    """

    format: str

    def detect(self, head: bytes, stream: BinaryStream, feed: Any, at_eof: bool,
               notes: list[RecordProblem] | None = None) -> FeedSpec:
        """Build the spec from `head` (the first bytes) and, if needed, more of `stream`
        (which continues after `head`); append what an operator should know to `notes`."""

    def iter_rows(self, stream: BinaryStream, spec: FeedSpec) -> Iterator[Row]:
        """Stream every record of the feed in order, in bounded memory.

        A reader may also offer `iter_records(stream, spec)` (records only, faster), which
        `api.iter_records` prefers when present."""

    def plan_chunks(self, path: Path, spec: FeedSpec, work_dir: Path, records_per_chunk: int,
                    target_bytes: int | None) -> Iterator[ChunkTask]:
        """Cut the feed into tasks, lazily.

        A reader of byte ranges may also offer `plan_quick(path, spec, work_dir,
        records_per_chunk, guess, begin)`: tasks from `begin` on whose ends are guessed
        cheaply (`check_end`) and confirmed by `read_chunk`, or exact ones when `guess` is
        None (see `api.plan_chunks`)."""

    def read_chunk(self, task: ChunkTask) -> ChunkRead:
        """Read one task's records (runs in a worker process).

        A reader may also offer `stream_chunk(task, columns) -> ChunkStream`, the same
        records as they are parsed, which `api.stream_chunk` prefers when present; with
        `columns` (the only ones the caller reads), its records may leave the others out."""
