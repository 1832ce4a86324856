"""Compression by content: gzip/zip/bz2/xz, truncation, zip slip, bombs (fast, bounded)."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import stat
import time
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from feed_helpers import make_feed, sample

from elementafeeds.errors import FeedError, HostileFeedError
from elementafeeds.feeds.decompress import (
    DecompressingReader,
    Limits,
    ZipStreamReader,
    open_zip_member,
    sniff_compression,
)
from elementafeeds.feeds.fetch import fetch_feed, fetched

BIG = Limits(max_bytes=10**10)


def _drain(reader) -> bytes:  # type: ignore[no-untyped-def]
    return b"".join(iter(lambda: reader.read(65536), b""))


def _zip(path: Path, members: dict[str, bytes], symlink: str | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    return path


def test_compression_is_sniffed_from_content_not_name() -> None:
    assert sniff_compression(gzip.compress(b"x")) == "gzip"
    assert sniff_compression(bz2.compress(b"x")) == "bz2"
    assert sniff_compression(lzma.compress(b"x")) == "xz"
    assert sniff_compression(b"PK\x03\x04rest") == "zip"
    assert sniff_compression(b"id,name\n") is None


@pytest.mark.parametrize(("kind", "compress"), [("gzip", gzip.compress), ("bz2", bz2.compress),
                                                 ("xz", lzma.compress)])
def test_streams_round_trip_including_concatenated_members(kind: str, compress) -> None:  # type: ignore[no-untyped-def]
    data = sample("magento-sample-gear-bags.csv").read_bytes()
    raw = io.BytesIO(compress(data[:5000]) + compress(data[5000:]))
    assert _drain(DecompressingReader(raw, kind, BIG)) == data


@pytest.mark.parametrize(("kind", "compress"), [("gzip", gzip.compress), ("bz2", bz2.compress),
                                                 ("xz", lzma.compress)])
def test_truncated_stream_is_a_clear_feed_error(kind: str, compress) -> None:  # type: ignore[no-untyped-def]
    whole = compress(sample("woocommerce-sample-products.xml").read_bytes())
    with pytest.raises(FeedError, match="truncated"):
        _drain(DecompressingReader(io.BytesIO(whole[: len(whole) // 2]), kind, BIG))


def test_corrupt_gzip_is_a_feed_error() -> None:
    whole = bytearray(gzip.compress(b"a,b\n" * 10000))
    whole[20:30] = b"\xff" * 10
    with pytest.raises(FeedError, match="corrupt"):
        _drain(DecompressingReader(io.BytesIO(bytes(whole)), "gzip", BIG))


def test_gzip_bomb_stops_fast_with_bounded_memory() -> None:
    bomb = gzip.compress(b"\0" * (300 * 1024 * 1024), 9)  # 300 MB in ~300 KB
    tracemalloc.start()
    started = time.monotonic()
    reader = DecompressingReader(io.BytesIO(bomb), "gzip", Limits(max_bytes=10**12))
    with pytest.raises(HostileFeedError, match="bomb"):
        while reader.read(1024 * 1024):
            pass
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert time.monotonic() - started < 5
    assert peak < 20 * 1024 * 1024


def test_decompressed_size_limit() -> None:
    data = gzip.compress(b"id,name\n" + b"1,abc\n" * 400_000)
    with pytest.raises(HostileFeedError, match="larger than"):
        _drain(DecompressingReader(io.BytesIO(data), "gzip", Limits(max_bytes=1024 * 1024)))


def test_zip_with_one_feed_file_and_junk_members(tmp_path: Path) -> None:
    data = sample("shopware-article-prices-de.csv").read_bytes()
    path = _zip(tmp_path / "f.zip", {"__MACOSX/._feed.csv": b"junk", "dir/": b"",
                                      "feed.csv": data})
    reader = open_zip_member(path, BIG)
    assert _drain(reader) == data
    reader.close()


@pytest.mark.parametrize("name", ["../../etc/cron.d/evil", "/etc/passwd", "C:\\evil.csv",
                                  "a/../../b.csv"])
def test_zip_slip_members_are_hostile(tmp_path: Path, name: str) -> None:
    path = _zip(tmp_path / "slip.zip", {"feed.csv": b"a,b\n1,2\n", name: b"x"})
    with pytest.raises(HostileFeedError, match="escapes"):
        open_zip_member(path, BIG)


def test_zip_symlink_member_is_hostile(tmp_path: Path) -> None:
    path = _zip(tmp_path / "link.zip", {"feed.csv": b"a,b\n1,2\n"}, symlink="feed2.csv")
    with pytest.raises(HostileFeedError, match="symbolic link"):
        open_zip_member(path, BIG)


def test_zip_with_two_feed_files_is_refused(tmp_path: Path) -> None:
    path = _zip(tmp_path / "two.zip", {"a.csv": b"a\n1\n", "b.csv": b"b\n2\n"})
    with pytest.raises(FeedError, match="exactly one"):
        open_zip_member(path, BIG)


def test_zip_bomb_is_refused_from_its_declared_sizes(tmp_path: Path) -> None:
    path = _zip(tmp_path / "bomb.zip", {"feed.csv": b"\0" * (100 * 1024 * 1024)})
    started = time.monotonic()
    with pytest.raises(HostileFeedError):
        open_zip_member(path, Limits(max_bytes=10**12))
    with pytest.raises(HostileFeedError, match="larger than"):
        open_zip_member(path, Limits(max_bytes=1024 * 1024))
    assert time.monotonic() - started < 2


def test_zip_streamed_from_its_local_header() -> None:
    data = sample("magento-sample-gear-bags.csv").read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("dir/", b"")
        archive.writestr("feed.csv", data)
    assert _drain(ZipStreamReader(io.BytesIO(buffer.getvalue()), BIG)) == data
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../evil.csv", data)
    with pytest.raises(HostileFeedError):
        ZipStreamReader(io.BytesIO(buffer.getvalue()), BIG)


def test_truncated_zip_is_a_feed_error(tmp_path: Path) -> None:
    whole = _zip(tmp_path / "ok.zip", {"feed.csv": b"a,b\n" * 50000}).read_bytes()
    cut = tmp_path / "cut.zip"
    cut.write_bytes(whole[: len(whole) // 2])
    feed = make_feed(cut)
    with pytest.raises(FeedError, match="zip"):
        fetch_feed(feed, tmp_path, tmp_path / "work")


def test_fetch_of_local_gzip_decompresses_to_a_temp_file_removed_after(tmp_path: Path) -> None:
    data = sample("woocommerce-sample-products.csv").read_bytes()
    packed = tmp_path / "feed.csv"  # the name says nothing: the content decides
    packed.write_bytes(gzip.compress(data))
    work = tmp_path / "work"
    with fetched(make_feed("feed.csv"), tmp_path, work) as result:
        assert result.compression == "gzip" and result.temporary
        assert result.path is not None and result.path.parent == work
        assert result.path.read_bytes() == data
        assert result.bytes_decompressed == len(data)
    assert list(work.iterdir()) == []


def test_fetch_leaves_no_temp_file_when_decompression_fails(tmp_path: Path) -> None:
    whole = gzip.compress(b"a,b\n" * 100000)
    (tmp_path / "cut.gz").write_bytes(whole[: len(whole) // 3])
    work = tmp_path / "work"
    with pytest.raises(FeedError, match="truncated"):
        fetch_feed(make_feed("cut.gz"), tmp_path, work)
    assert list(work.iterdir()) == []
