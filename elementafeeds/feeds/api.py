"""The feeds layer's public functions: what the pipeline, `ef preview` and `ef map` call.

    fetch_feed / fetched    make the feed a local, decompressed file (fetch.py)
    detect_spec             format, encoding, dialect or record path, from a sample
    plan_chunks             cut the file into ChunkTasks for the pool (lazily)
    read_chunk              one task's records, in a worker process
    stream_chunk            the same, as they are parsed
    iter_records            every record, streaming, in bounded memory

Reading a whole feed through plan_chunks + read_chunk gives exactly the records of
iter_records, in the same order: both go through the same reader code.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

from elementafeeds.errors import FeedError, FeedUnreachable
from elementafeeds.feeds.contracts import ChunkRead, ChunkStream, ChunkTask, FeedSpec, Row
from elementafeeds.feeds.csv_scan import CAREFUL, Guess
from elementafeeds.feeds.detect import Detection, detect_stream
from elementafeeds.feeds.registry import get_reader


def _open(path: Path) -> Any:
    try:
        return Path(path).open("rb")
    except OSError as exc:
        raise FeedUnreachable(f"cannot read the feed file {path} ({exc.strerror})") from exc


def detect(path: Path, feed: Any) -> Detection:
    """The spec and the notes of detection (encoding guesses, renamed headers …)."""
    with _open(path) as handle:
        return detect_stream(handle, feed, source=f"feed '{feed.name}'")


def detect_spec(path: Path, feed: Any) -> FeedSpec:
    """Detect how to read the (decompressed) feed file; reads only a sample.

    Raises FeedError for an empty file, an HTML page, XML without the configured record,
    JSON whose root is not what `json.records` says …"""
    return detect(path, feed).spec


def plan_chunks(path: Path, spec: FeedSpec, work_dir: Path, records_per_chunk: int = 500,
                target_bytes: int | None = None, guess: Guess | None = None,
                begin: int | None = None) -> Iterator[ChunkTask]:
    """Tasks for the chunk pool, lazily. A feed cut short raises FeedError from here.

    `guess` ("lines", or the more careful "quotes"): where the reader can, chunk ends are
    guessed instead of scanned for, and each chunk's first record is numbered 1 (the caller
    numbers records in order). A chunk read `misaligned` means: plan again with `begin` at
    its start and the next guess, `CAREFUL[guess]` (None: exact)."""
    reader = get_reader(spec.format)
    plan_quick = getattr(reader, "plan_quick", None)
    if plan_quick is not None and (guess is not None or begin is not None):
        tasks: Iterator[ChunkTask] = plan_quick(Path(path), spec, Path(work_dir),
                                                records_per_chunk, guess, begin)
        return tasks
    return reader.plan_chunks(Path(path), spec, Path(work_dir), records_per_chunk,
                              target_bytes)


def read_chunk(task: ChunkTask) -> ChunkRead:
    """One task's records and problems. Top-level and picklable: runs in worker processes."""
    return get_reader(task.spec.format).read_chunk(task)


def stream_chunk(task: ChunkTask, columns: Collection[str] | None = None) -> ChunkStream:
    """One task's records as they are parsed (see ChunkStream), for a pool worker. With
    `columns`, the only ones the caller reads, a reader may leave the others out."""
    reader = get_reader(task.spec.format)
    stream = getattr(reader, "stream_chunk", None)
    if stream is not None:
        return stream(task, columns)  # type: ignore[no-any-return]
    read = reader.read_chunk(task)
    return ChunkStream(iter(read.records), read.problems, lambda: read.misaligned)


def iter_rows(path: Path, spec: FeedSpec) -> Iterator[Row]:
    """Every record with its ordinal and problems, streaming."""
    with _open(path) as handle:
        yield from get_reader(spec.format).iter_rows(handle, spec)


def iter_records(path: Path, spec: FeedSpec) -> Iterator[dict[str, Any]]:
    """Every record of the feed, streaming, in bounded memory (for preview and `ef map`)."""
    reader = get_reader(spec.format)
    with _open(path) as handle:
        fast = getattr(reader, "iter_records", None)
        if fast is not None:
            yield from fast(handle, spec)
        else:
            for row in reader.iter_rows(handle, spec):
                yield row.record


__all__ = ["CAREFUL", "FeedError", "Guess", "detect", "detect_spec", "iter_records",
           "iter_rows", "plan_chunks", "read_chunk", "stream_chunk"]
