"""Fetching over real HTTP (a stdlib server on 127.0.0.1) and from local paths."""

from __future__ import annotations

import gzip
import time
import zipfile
from http.server import BaseHTTPRequestHandler
from io import BytesIO
from pathlib import Path

import pytest
from feed_helpers import LocalServer, make_feed, sample

from elementafeeds.errors import FeedError, FeedUnreachable, HostileFeedError
from elementafeeds.exit_codes import ExitCode
from elementafeeds.feeds import detect_spec, fetch_feed, fetched
from elementafeeds.feeds.detect import HtmlPageError


def test_http_feed_is_streamed_to_a_temp_file_in_the_work_dir(
        http_server: LocalServer, tmp_path: Path) -> None:
    data = sample("shopware-article-prices-de.csv").read_bytes()
    url = http_server.add("/feed.csv", data, headers={"ETag": '"v1"',
                                                      "Last-Modified": "Mon, 01 Jan 2024 00:00:00 GMT"})
    work = tmp_path / "work"
    with fetched(make_feed(url), tmp_path, work) as result:
        assert result.path is not None and result.path.parent == work
        assert result.path.read_bytes() == data
        assert (result.etag, result.last_modified) == ('"v1"', "Mon, 01 Jan 2024 00:00:00 GMT")
        assert result.bytes_fetched == len(data) and not result.not_modified
    assert list(work.iterdir()) == []
    _, headers = http_server.requests[0]
    assert headers["User-Agent"].startswith("ElementaFeeds/")


def test_conditional_get_returns_not_modified(http_server: LocalServer, tmp_path: Path) -> None:
    def handler(request: BaseHTTPRequestHandler) -> None:
        if request.headers.get("If-None-Match") == '"v1"':
            request.send_response(304)
            request.send_header("ETag", '"v1"')
            request.end_headers()
            return
        request.send_response(200)
        request.send_header("Content-Length", "8")
        request.end_headers()
        request.wfile.write(b"a,b\n1,2\n")

    url = http_server.add_handler("/feed.csv", handler)
    result = fetch_feed(make_feed(url), tmp_path, tmp_path / "w", etag='"v1"',
                        last_modified="Mon, 01 Jan 2024 00:00:00 GMT")
    assert result.not_modified and result.path is None and result.etag == '"v1"'
    _, headers = http_server.requests[0]
    assert headers["If-Modified-Since"] == "Mon, 01 Jan 2024 00:00:00 GMT"


def test_local_feed_is_read_in_place_and_skipped_when_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "feeds" / "f.csv"
    path.parent.mkdir()
    path.write_bytes(b"a,b\n1,2\n")
    first = fetch_feed(make_feed("feeds/f.csv"), tmp_path, tmp_path / "w")
    assert first.path == path and not first.temporary and first.etag
    again = fetch_feed(make_feed("feeds/f.csv"), tmp_path, tmp_path / "w", etag=first.etag)
    assert again.not_modified


def test_http_gzip_is_decompressed_by_content(http_server: LocalServer, tmp_path: Path) -> None:
    data = sample("magento-sample-gear-bags.csv").read_bytes()
    url = http_server.add("/download", gzip.compress(data),
                          headers={"Content-Type": "application/octet-stream"}) + "?type=csv"
    with fetched(make_feed(url), tmp_path, tmp_path / "w") as result:
        assert result.compression == "gzip" and result.path.read_bytes() == data  # type: ignore[union-attr]
        assert result.bytes_fetched < len(data)


def test_http_zip_is_downloaded_then_its_one_member_extracted(
        http_server: LocalServer, tmp_path: Path) -> None:
    data = sample("shopware-article-prices-de.csv").read_bytes()
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("export/prices.csv", data)
    url = http_server.add("/feed.zip", buffer.getvalue())
    work = tmp_path / "w"
    with fetched(make_feed(url), tmp_path, work) as result:
        assert result.compression == "zip" and result.path.read_bytes() == data  # type: ignore[union-attr]
        assert len(list(work.iterdir())) == 1  # the downloaded archive is already gone
    assert list(work.iterdir()) == []


@pytest.mark.parametrize("status", [404, 403, 500, 503])
def test_http_error_status_is_unreachable_with_exit_4(
        http_server: LocalServer, tmp_path: Path, status: int) -> None:
    url = http_server.add("/feed.csv", b"nope", status=status)
    with pytest.raises(FeedUnreachable) as info:
        fetch_feed(make_feed(url + "?token=SECRET123"), tmp_path, tmp_path / "w")
    assert info.value.exit_code == ExitCode.UNREACHABLE
    assert str(status) in str(info.value) and "SECRET123" not in str(info.value)
    assert list((tmp_path / "w").glob("*")) == []


def test_redirects_are_followed_but_limited(http_server: LocalServer, tmp_path: Path) -> None:
    http_server.add("/final.csv", b"a,b\n1,2\n")
    http_server.add("/one", status=302, headers={"Location": "/final.csv"})
    with fetched(make_feed(http_server.url("/one")), tmp_path, tmp_path / "w") as result:
        assert result.path.read_bytes() == b"a,b\n1,2\n"  # type: ignore[union-attr]
    http_server.add("/loop", status=302, headers={"Location": "/loop"})
    with pytest.raises(FeedUnreachable, match="redirects"):
        fetch_feed(make_feed(http_server.url("/loop")), tmp_path, tmp_path / "w")


def test_connection_refused_is_unreachable(tmp_path: Path) -> None:
    with pytest.raises(FeedUnreachable, match="cannot connect"):
        fetch_feed(make_feed("http://127.0.0.1:9/feed.csv"), tmp_path, tmp_path / "w")


def test_missing_local_file_is_unreachable(tmp_path: Path) -> None:
    with pytest.raises(FeedUnreachable, match="does not exist"):
        fetch_feed(make_feed("feeds/none.csv"), tmp_path, tmp_path / "w")


def test_overall_deadline_stops_a_server_that_stalls(http_server: LocalServer,
                                                     tmp_path: Path) -> None:
    def stall(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Content-Length", "100000")
        request.end_headers()
        request.wfile.write(b"a,b\n" * 10)
        request.wfile.flush()
        http_server.release.wait(30)  # never sends the rest (released at teardown)

    url = http_server.add_handler("/slow.csv", stall)
    feed = make_feed(url, limits={"timeout_s": 0.5})
    started = time.monotonic()
    with pytest.raises(FeedUnreachable, match="deadline|stopped sending"):
        fetch_feed(feed, tmp_path, tmp_path / "w")
    assert time.monotonic() - started < 3
    assert list((tmp_path / "w").glob("*")) == []


def test_size_limit_from_content_length_and_from_the_stream(
        http_server: LocalServer, tmp_path: Path) -> None:
    body = b"a,b\n" + b"1,2\n" * 300_000
    url = http_server.add("/big.csv", body)
    with pytest.raises(HostileFeedError, match="limit"):
        fetch_feed(make_feed(url, limits={"max_bytes": 100_000}), tmp_path, tmp_path / "w")

    def chunked(request: BaseHTTPRequestHandler) -> None:  # no Content-Length: counted
        request.send_response(200)
        request.send_header("Connection", "close")
        request.end_headers()
        try:
            request.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass
        request.close_connection = True

    url = http_server.add_handler("/stream.csv", chunked)
    with pytest.raises(HostileFeedError, match="larger than"):
        fetch_feed(make_feed(url), tmp_path, tmp_path / "w", max_bytes=100_000)
    assert list((tmp_path / "w").glob("*")) == []


def test_gzip_bomb_over_http_is_refused(http_server: LocalServer, tmp_path: Path) -> None:
    url = http_server.add("/bomb.csv.gz", gzip.compress(b"a" * (200 * 1024 * 1024), 9))
    with pytest.raises(HostileFeedError, match="bomb"):
        fetch_feed(make_feed(url), tmp_path, tmp_path / "w")
    assert list((tmp_path / "w").glob("*")) == []


def test_html_error_page_over_http_is_a_feed_error(http_server: LocalServer,
                                                   tmp_path: Path) -> None:
    page = (b"<!DOCTYPE html>\n<html><head><title>Access denied | CDN</title></head>"
            b"<body><h1>403</h1></body></html>")
    url = http_server.add("/feed.csv", page, headers={"Content-Type": "text/html"})
    feed = make_feed(url, format="csv")
    with fetched(feed, tmp_path, tmp_path / "w") as result, \
            pytest.raises(HtmlPageError, match="Access denied") as info:
        detect_spec(result.path, feed)  # type: ignore[arg-type]
    assert isinstance(info.value, FeedError) and info.value.exit_code == ExitCode.INVALID


def test_unsupported_scheme_is_a_feed_error(tmp_path: Path) -> None:
    from elementafeeds.feeds.decompress import Limits
    from elementafeeds.feeds.http_fetch import open_http

    with pytest.raises(FeedError), open_http(make_feed("ftp://example.invalid/feed.csv"),
                                             limits=Limits(10)):
        pass


def test_header_env_references_are_resolved_and_never_shown(
        http_server: LocalServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEED_TOKEN", "tok-123456")
    url = http_server.add("/f.csv", b"a\n1\n")
    feed = make_feed(url, headers={"Authorization": "Bearer ${FEED_TOKEN}"})
    with fetched(feed, tmp_path, tmp_path / "w"):
        pass
    assert http_server.requests[0][1]["Authorization"] == "Bearer tok-123456"


def test_content_encoding_gzip_bomb_is_bounded(http_server: LocalServer, tmp_path: Path) -> None:
    bomb = gzip.compress(b"a," * (100 * 1024 * 1024), 9)
    url = http_server.add("/feed.csv", bomb, headers={"Content-Encoding": "gzip"})
    with pytest.raises(HostileFeedError, match="bomb"):
        fetch_feed(make_feed(url), tmp_path, tmp_path / "w")
    assert list((tmp_path / "w").glob("*")) == []


def test_overall_deadline_stops_a_server_that_drips(http_server: LocalServer,
                                                    tmp_path: Path) -> None:
    """Data keeps coming, so no read timeout fires: only the overall deadline can stop it."""
    def drip(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Content-Length", "1000000")
        request.end_headers()
        try:
            while not http_server.release.wait(0.05):  # a byte every 50 ms, until teardown
                request.wfile.write(b"a")
                request.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass

    url = http_server.add_handler("/drip.csv", drip)
    started = time.monotonic()
    with pytest.raises(FeedUnreachable, match="deadline"):
        fetch_feed(make_feed(url, limits={"timeout_s": 0.6}), tmp_path, tmp_path / "w")
    assert 0.5 < time.monotonic() - started < 2
