"""The CSV reader on the real samples and on generated dialects, encodings and breakage."""

from __future__ import annotations

import csv
import io
from itertools import pairwise
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from feed_helpers import make_feed, sample
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from elementafeeds.errors import FeedError, HostileFeedError
from elementafeeds.feeds import csv_scan
from elementafeeds.feeds import (
    CAREFUL,
    Guess,
    detect_spec,
    iter_records,
    iter_rows,
    plan_chunks,
    read_chunk,
    stream_chunk,
)
from elementafeeds.feeds.api import detect
from elementafeeds.feeds.contracts import ChunkTask
from elementafeeds.feeds.detect import HtmlPageError


def chunked(path: Path, spec: Any, work: Path, per: int = 3) -> tuple[list[dict], list]:
    """Records and problems through exact chunks — asserted identical through quick ones."""
    records, problems = [], []
    for task in plan_chunks(path, spec, work, records_per_chunk=per):
        read = read_chunk(task)
        records += read.records
        problems += read.problems
    for guess in ("lines", "quotes"):
        assert quick_chunked(path, spec, work, per, guess)[:2] == (records, problems)
    return records, problems


def quick_chunked(path: Path, spec: Any, work: Path, per: int,
                  guess: Guess = "lines") -> tuple[list, list, int]:
    """What the runner does: chunks with guessed ends, numbered in order, planned again from
    a chunk whose end was no record boundary, with a more careful guess. Also returns how
    often. The planner reads the file in blocks of 61 bytes here, so lines and quoted fields
    cross blocks as they do in large feeds."""
    records: list[dict] = []
    problems: list = []
    replans = 0
    careful: Guess | None = guess
    with patch.object(csv_scan, "BLOCK", 61):
        tasks = iter(list(plan_chunks(path, spec, work, records_per_chunk=per, guess=guess)))
    while (task := next(tasks, None)) is not None:
        read = stream_chunk(task)  # as a pool worker reads: records as they are parsed
        chunk = list(read.records)
        if read.misaligned:
            replans += 1
            assert careful is not None
            careful = CAREFUL[careful]
            with patch.object(csv_scan, "BLOCK", 61):
                tasks = iter(list(plan_chunks(path, spec, work, records_per_chunk=per,
                                              guess=careful, begin=task.start)))
            continue
        for problem in read.problems:
            problem.record += len(records) + 1 - task.first_record
        records += chunk
        problems += read.problems
    return records, problems, replans


def read_both(path: Path, work: Path, per: int = 3, **options: Any) -> list[dict]:
    """Records through iter_records AND plan_chunks+read_chunk, asserted identical."""
    spec = detect_spec(path, make_feed(path, **options))
    streamed = list(iter_records(path, spec))
    assert chunked(path, spec, work, per)[0] == streamed
    return streamed


def write(tmp_path: Path, name: str, data: bytes | str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode(encoding) if isinstance(data, str) else data)
    return path


def test_woocommerce_sample_bom_quoted_headers_and_lists(tmp_path: Path) -> None:
    path = sample("woocommerce-sample-products.csv")
    spec = detect_spec(path, make_feed(path))
    assert spec.encoding == "utf-8-sig" and spec.delimiter == "," and len(spec.columns) == 51
    assert spec.columns[0] == "ID" and "Is featured?" in spec.columns
    records = read_both(path, tmp_path)
    assert len(records) == 25
    types = {r["Type"] for r in records}
    assert "simple, downloadable, virtual" in types
    assert any(r["Parent"] == "woo-vneck-tee" for r in records)


def test_magento_sample_quoted_multiline_fields(tmp_path: Path) -> None:
    records = read_both(sample("magento-sample-gear-bags.csv"), tmp_path, per=1)
    assert len(records) == 14
    assert records[0]["category"] == "Gear\nBags"
    assert any('L 29" x W 13"' in r["description"] for r in records)


def test_shopware_sample_semicolon_and_comma_decimals(tmp_path: Path) -> None:
    path = sample("shopware-article-prices-de.csv")
    assert detect_spec(path, make_feed(path)).delimiter == ";"
    records = read_both(path, tmp_path, per=10)
    assert len(records) == 98
    assert any(r["price"] == "59,99" for r in records)
    assert any("Münsterländer" in " ".join(r.values()) for r in records)


def test_akeneo_invalid_utf8_reported_per_record_when_configured_utf8(tmp_path: Path) -> None:
    path = sample("akeneo-products-invalid-utf8.csv")
    feed = make_feed(path, csv={"encoding": "utf-8"})
    spec = detect_spec(path, feed)
    rows = list(iter_rows(path, spec))
    assert len(rows) == 112
    problems = [p for row in rows for p in (row.problems or [])]
    by_record = {p.record for p in problems}
    assert by_record == {10, 14}  # physical lines 11 and 15, as Akeneo's own test says
    assert any("undecodable" in p.message for p in problems)
    assert any("NUL" in p.message and p.record == 14 for p in problems)
    assert "\ufffd" in rows[9].record["name"] or "\ufffd" in " ".join(rows[9].record.values())
    assert chunked(path, spec, tmp_path, per=5)[1] == problems


def test_akeneo_auto_detection_guesses_a_legacy_encoding_and_says_so(tmp_path: Path) -> None:
    path = sample("akeneo-products-invalid-utf8.csv")
    found = detect(path, make_feed(path))
    assert found.spec.encoding not in ("utf-8", "ascii")
    assert any("not valid UTF-8" in note.message for note in found.notes)
    assert len(read_both(path, tmp_path, per=50)) == 112


@pytest.mark.parametrize("delimiter", ["\t", "|", ";", ","])
def test_delimiter_is_detected(tmp_path: Path, delimiter: str) -> None:
    rows = [["id", "name", "price"], ["1", "Shirt, red", "9,99"], ["2", "Cap; blue", "5"]]
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    path = write(tmp_path, "f.txt", buffer.getvalue())
    records = read_both(path, tmp_path)
    assert records == [dict(zip(rows[0], r)) for r in rows[1:]]


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252"])
def test_legacy_encodings_detected_or_configured(tmp_path: Path, encoding: str) -> None:
    text = "id;name;price\n" + "".join(f"{i};Tröja för är och € {i};{i},99 €\n"
                                       if encoding == "cp1252" else
                                       f"{i};Tröja för är {i};{i},99\n" for i in range(200))
    path = write(tmp_path, "f.csv", text, encoding)
    records = read_both(path, tmp_path, per=7)
    assert records[5]["name"].startswith("Tröja för är")
    configured = read_both(path, tmp_path, csv={"encoding": encoding})
    assert configured[0]["name"].startswith("Tröja för är")


def test_utf16_with_bom_tab_separated_excel_export(tmp_path: Path) -> None:
    text = "id\tname\tdesc\r\n" + "".join(f'{i}\tÅsa {i}\t"multi\r\nline ☃"\r\n'
                                         for i in range(300))
    path = write(tmp_path, "excel.txt", text, "utf-16")
    spec = detect_spec(path, make_feed(path))
    assert spec.encoding.startswith("utf-16") and spec.delimiter == "\t"
    records = read_both(path, tmp_path, per=40)
    assert len(records) == 300 and records[299] == {"id": "299", "name": "Åsa 299",
                                                    "desc": "multi\r\nline ☃"}


def test_skip_lines_and_footer_lines_on_both_paths(tmp_path: Path) -> None:
    text = ("Product export\ngenerated 2024-01-01\nid,name\n" +
            "".join(f"{i},n{i}\n" for i in range(1, 51)) + "TOTAL,50\nEND\n\n")
    path = write(tmp_path, "f.csv", text)
    records = read_both(path, tmp_path, per=7,
                        csv={"skip_lines": 2, "skip_footer_lines": 2})
    assert [r["id"] for r in records] == [str(i) for i in range(1, 51)]


def test_ragged_rows_are_kept_padded_or_with_extra_and_reported(tmp_path: Path) -> None:
    path = write(tmp_path, "f.csv", "id,name,price\n1,a,2\n2,b\n3,c,4,EXTRA,MORE\n4,d,5\n")
    spec = detect_spec(path, make_feed(path))
    rows = list(iter_rows(path, spec))
    assert rows[1].record == {"id": "2", "name": "b", "price": ""}
    assert rows[2].record["_extra"] == ["EXTRA", "MORE"]
    assert [p.record for row in rows for p in row.problems or []] == [2, 3]
    records, problems = chunked(path, spec, tmp_path, per=1)
    assert records == [row.record for row in rows] and [p.record for p in problems] == [2, 3]


def test_nul_bytes_are_removed_with_a_problem(tmp_path: Path) -> None:
    path = write(tmp_path, "f.csv", b"id,name\n1,ab\x00c\n2,\x00\x00\n3,ok\n")
    spec = detect_spec(path, make_feed(path))
    rows = list(iter_rows(path, spec))
    assert [r.record["name"] for r in rows] == ["abc", "", "ok"]
    assert [(p.record, p.column) for row in rows for p in row.problems or []] == \
        [(1, "name"), (2, "name")]


def test_ten_megabyte_field_is_a_hostile_feed_error_naming_line_and_setting(
        tmp_path: Path) -> None:
    big = "x" * (10 * 1024 * 1024)
    path = write(tmp_path, "f.csv", f'id,desc\n1,ok\n2,"{big}"\n3,ok\n')
    spec = detect_spec(path, make_feed(path))
    with pytest.raises(HostileFeedError, match=r"line 3.*csv\.max_field_bytes"):
        list(iter_records(path, spec))
    with pytest.raises(HostileFeedError, match=r"line 3.*max_field_bytes"):
        chunked(path, spec, tmp_path, per=1)


def test_unbalanced_quote_swallowing_thousands_of_rows_is_an_error(tmp_path: Path) -> None:
    good = "".join(f"{i},plain name {i},{i}.00\n" for i in range(20_000))  # past the sample
    rows = "".join(f"{i},plain name {i},{i}.00\n" for i in range(60_000))
    path = write(tmp_path, "f.csv", 'id,name,price\n' + good + '1,"broken quote,1.00\n' + rows)
    feed = make_feed(path, csv={"max_field_bytes": 100_000})
    spec = detect_spec(path, feed)
    with pytest.raises(HostileFeedError, match="line 20002.*unbalanced quote"):
        list(iter_records(path, spec))
    with pytest.raises(HostileFeedError, match="line 20002.*unbalanced quote"):
        chunked(path, spec, tmp_path, per=100)
    early = write(tmp_path, "early.csv", 'id,name,price\n1,"broken quote,1.00\n' + rows)
    with pytest.raises(HostileFeedError, match="line 2 "):  # seen in the detection sample
        detect_spec(early, make_feed(early, csv={"max_field_bytes": 100_000}))


def test_stray_quotes_in_unquoted_fields_do_not_shift_chunk_boundaries(tmp_path: Path) -> None:
    lines = ["id,name,desc"]
    for i in range(200):
        lines.append(f'{i},Monitor 24" wide,"line one\nline ""two"" {i}"')
        lines.append(f'{i}b,12" pizza,"x"trailing')
    path = write(tmp_path, "f.csv", "\n".join(lines) + "\n")
    records = read_both(path, tmp_path, per=3)
    assert len(records) == 400
    assert records[0] == {"id": "0", "name": 'Monitor 24" wide', "desc": 'line one\nline "two" 0'}
    assert records[1]["desc"] == "xtrailing"


@pytest.mark.parametrize("newline", ["\r\n", "\r", "\n"])
def test_line_endings(tmp_path: Path, newline: str) -> None:
    text = newline.join(["id,name", "1,a", '2,"b' + newline + 'c"', "3,d"]) + newline
    records = read_both(write(tmp_path, "f.csv", text), tmp_path, per=1)
    assert [r["name"] for r in records] == ["a", f"b{newline}c", "d"]


def test_missing_and_duplicate_headers_are_renamed_with_notes(tmp_path: Path) -> None:
    path = write(tmp_path, "f.csv", " id ,price,,price\n1,2,3,4\n")
    found = detect(path, make_feed(path))
    assert found.spec.columns == ("id", "price", "column_3", "price_2")
    assert {n.column for n in found.notes} == {"column_3", "price_2"}


def test_feed_without_header(tmp_path: Path) -> None:
    path = write(tmp_path, "f.csv", "1;a;x\n2;b;y\n")
    records = read_both(path, tmp_path, csv={"header": False})
    assert records[0] == {"column_1": "1", "column_2": "a", "column_3": "x"}


@pytest.mark.parametrize("content", [b"", b"  \n\n", b"\xef\xbb\xbf"])
def test_empty_file_is_a_feed_error(tmp_path: Path, content: bytes) -> None:
    path = write(tmp_path, "f.csv", content)
    with pytest.raises(FeedError, match="empty"):
        detect_spec(path, make_feed(path))


def test_header_only_feed_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "f.csv", "id,name,price\n")
    with pytest.raises(FeedError, match="no records"):
        detect_spec(path, make_feed(path))


def test_html_page_saved_as_csv_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "feed.csv", "\n  <html lang=en><head><title>Login</title></head></html>")
    with pytest.raises(HtmlPageError, match="Login"):
        detect_spec(path, make_feed(path, format="csv"))


def test_chunk_ranges_cover_the_data_once_and_ordinals_continue(tmp_path: Path) -> None:
    text = "id,name\n" + "".join(f'{i},"n\n{i}"\n' for i in range(1, 1001))
    path = write(tmp_path, "f.csv", text)
    spec = detect_spec(path, make_feed(path))
    tasks = list(plan_chunks(path, spec, tmp_path, records_per_chunk=64))
    assert tasks[0].start == len("id,name\n") and tasks[-1].end == path.stat().st_size
    assert all(a.end == b.start for a, b in pairwise(tasks))
    assert [t.first_record for t in tasks] == list(range(1, 1001, 64))
    for guess in ("lines", "quotes"):
        quick = list(plan_chunks(path, spec, tmp_path, records_per_chunk=64, guess=guess))
        assert quick[0].start == tasks[0].start and quick[-1].end == tasks[-1].end
        assert all(a.end == b.start for a, b in pairwise(quick))
        assert all(t.check_end for t in quick[:-1]) and not quick[-1].check_end
        # by lines, one cut falls between "n" and its number: then quotes pair everywhere
        assert quick_chunked(path, spec, tmp_path, 64, guess)[2] == (guess == "lines")


def test_a_guessed_end_inside_a_quoted_field_is_planned_again_exactly(tmp_path: Path) -> None:
    # one inch mark puts the quote count off by one: from there on, a line end where the
    # quotes seem to pair lies inside a quoted field
    lines = ["id,name,desc", '1,Monitor 24" wide,x']
    lines += [f'{i},"first\nsecond {i}",y' for i in range(2, 300)]
    path = write(tmp_path, "f.csv", "\n".join(lines) + "\n")
    records = read_both(path, tmp_path, per=3)
    spec = detect_spec(path, make_feed(path))
    assert quick_chunked(path, spec, tmp_path, 3, "quotes")[2] == 1
    # by lines, the inch mark does not matter, and three lines end a record here; two do
    # not: by quotes from there, and then exactly
    assert quick_chunked(path, spec, tmp_path, 3, "lines")[2] == 0
    assert quick_chunked(path, spec, tmp_path, 2, "lines")[2] == 2
    assert len(records) == 299 and records[-1]["name"] == "first\nsecond 299"


def test_the_end_probe_never_becomes_a_record(tmp_path: Path) -> None:
    text = 'id,name\n1,a\n2,"b\nc"\n3,d\n'
    path = write(tmp_path, "f.csv", text)
    spec = detect_spec(path, make_feed(path))
    start = len("id,name\n")
    whole = ChunkTask(0, str(path), start, len(text), spec, 1, 0, check_end=True)
    read = read_chunk(whole)
    assert not read.misaligned and not read.problems
    assert [r["name"] for r in read.records] == ["a", "b\nc", "d"]
    inside = ChunkTask(0, str(path), start, text.index("c"), spec, 1, 0, check_end=True)
    assert read_chunk(inside).misaligned  # the range ends inside "b\nc"
    stream = stream_chunk(inside)  # known once its records are parsed
    assert len(list(stream.records)) == 2 and stream.misaligned


def test_a_record_that_imitates_the_end_probe_is_only_a_record(tmp_path: Path) -> None:
    text = 'id,name\n1,a\n"ef:end-probe\n"\n3,d\n'
    path = write(tmp_path, "f.csv", text)
    spec = detect_spec(path, make_feed(path))
    whole = ChunkTask(0, str(path), len("id,name\n"), len(text), spec, 1, 0, check_end=True)
    read = read_chunk(whole)
    assert not read.misaligned
    assert [r["id"] for r in read.records] == ["1", "ef:end-probe\n", "3"]


csv_text = st.text(alphabet=st.sampled_from(list('ab ,;"\n\r\t\'é€') + ["\u2028", "\x0b"]),
                   max_size=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(csv_text, min_size=3, max_size=3), min_size=1, max_size=25),
       per=st.integers(min_value=1, max_value=5))
def test_any_written_csv_reads_back_the_same_on_both_paths(tmp_path: Path, rows: list,
                                                           per: int) -> None:
    rows = [r for r in rows if any(v.strip() for v in r)] or [["x", "y", "z"]]
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(["a", "b", "c"])
    writer.writerows(rows)
    path = write(tmp_path, "prop.csv", buffer.getvalue())
    spec = detect_spec(path, make_feed(path, csv={"delimiter": ","}))
    streamed = list(iter_records(path, spec))
    assert streamed == [dict(zip("abc", r)) for r in rows]
    assert chunked(path, spec, tmp_path, per)[0] == streamed
    assert quick_chunked(path, spec, tmp_path, per, "quotes")[2] == 0  # every guess was right


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.text(alphabet=st.sampled_from(list('ab,"\n\r ;')), max_size=80),
       per=st.integers(min_value=1, max_value=4))
def test_malformed_csv_reads_the_same_through_chunks_and_stream(tmp_path: Path, body: str,
                                                                per: int) -> None:
    """Byte-range cuts follow csv's own rules even for broken quoting, so both paths agree."""
    path = write(tmp_path, "junk.csv", "a,b,c\n1,2,3\n" + body)
    spec = detect_spec(path, make_feed(path, csv={"delimiter": ","}))
    try:
        streamed = list(iter_records(path, spec))
    except FeedError:
        return
    assert chunked(path, spec, tmp_path, per)[0] == streamed


def test_an_encoding_that_lies_about_most_lines_is_an_error(tmp_path: Path) -> None:
    text = "id;name\n" + "".join(f"{i};Tröja för är {i}\n" for i in range(100))
    path = write(tmp_path, "f.csv", text, "cp1252")
    with pytest.raises(FeedError, match="not utf-8: 100 of the first 101 lines"):
        detect_spec(path, make_feed(path, csv={"encoding": "utf-8"}))
    unmarked = write(tmp_path, "u16.csv", text, "utf-16-le")  # no byte-order mark
    with pytest.raises(FeedError, match="UTF-16 text without a byte-order mark"):
        detect_spec(unmarked, make_feed(unmarked))
    assert read_both(unmarked, tmp_path, csv={"encoding": "utf-16-le"})[0]["name"] == \
        "Tröja för är 0"


def test_a_chunk_read_for_some_columns_holds_only_those(tmp_path: Path) -> None:
    path = write(tmp_path, "f.csv", 'id,name,price,desc\n1,a,2,x\n2,b,3\n3,"c\nd",4,y\n')
    spec = detect_spec(path, make_feed(path))
    [task] = plan_chunks(path, spec, tmp_path, records_per_chunk=10)
    stream = stream_chunk(task, {"price", "id", "colour"})
    records = list(stream.records)
    assert records[0] == {"id": "1", "price": "2"} and records[2] == {"id": "3", "price": "4"}
    assert records[1] == {"id": "2", "name": "b", "price": "3", "desc": ""}  # a short row whole
    assert [p.record for p in stream.problems] == [2]
    assert [list(r) for r in stream_chunk(task, {"name"}).records][::2] == [["name"], ["name"]]


@pytest.mark.parametrize("guess", ["lines", "quotes"])
def test_a_feed_without_line_feeds_is_not_guessed_into_one_huge_chunk(tmp_path: Path,
                                                                       guess: Guess) -> None:
    """Old Mac line ends (\r alone): no \n within csv.max_field_bytes per column of a chunk's
    start, so the guessing stops there and the exact planner cuts the feed."""
    path = write(tmp_path, "f.csv", "id,name,price\r" + "".join(
        f"{i},name {i},{i}.90\r" for i in range(1000)))
    options = {"csv": {"max_field_bytes": 1024}}
    spec = detect_spec(path, make_feed(path, **options))
    with patch.object(csv_scan, "BLOCK", 61):  # the longest record: 4 x 1024 + 61 bytes
        tasks = list(plan_chunks(path, spec, tmp_path, records_per_chunk=10, guess=guess))
    assert len(tasks) == 100 and not any(t.check_end for t in tasks)
    assert len(read_both(path, tmp_path, per=10, **options)) == 1000
