"""The JSON reader: documents through ijson, JSON lines, record paths, broken files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from feed_helpers import make_feed, sample

from elementafeeds.errors import FeedError
from elementafeeds.feeds import detect_spec, iter_records, iter_rows, plan_chunks, read_chunk
from elementafeeds.feeds.json_reader import BACKEND, BACKEND_WARNING


def read_both(path: Path, work: Path, per: int = 2, **options: Any) -> list[dict]:
    spec = detect_spec(path, make_feed(path, **options))
    streamed = list(iter_records(path, spec))
    records = [r for t in plan_chunks(path, spec, work, records_per_chunk=per)
               for r in read_chunk(t).records]
    assert records == streamed
    return streamed


def write(tmp_path: Path, name: str, data: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def test_the_c_backend_is_in_use() -> None:
    assert BACKEND.backend_name == "yajl2_c" and BACKEND_WARNING is None


def test_adrecord_wrapper_object_is_detected(tmp_path: Path) -> None:
    path = sample("adrecord-se-single.json")
    assert detect_spec(path, make_feed(path)).record_path == "products.item"
    record = read_both(path, tmp_path)[0]
    assert record["SKU"] == "" and record["categories"] == ["Avdelningar, Herrstrumpor"]
    assert "&amp;" in json.dumps(record)  # the feed's own escaping is data, kept as it is


def test_shopify_bare_array_keeps_nesting_and_json_types(tmp_path: Path) -> None:
    path = sample("shopify-products.json")
    assert detect_spec(path, make_feed(path)).record_path == "item"
    records = read_both(path, tmp_path, per=3)
    assert [r["id"] for r in records] == [1, 2, 3, 4]
    variant = records[0]["variants"][0]
    assert variant["price"] == "199.00" and variant["compare_at_price"] is None


def test_google_retail_json_lines_by_byte_ranges(tmp_path: Path) -> None:
    path = sample("google-retail-products.jsonl")
    spec = detect_spec(path, make_feed(path))
    assert spec.record_path == ""
    records = read_both(path, tmp_path, per=50)
    assert len(records) == 316 and "priceInfo" in records[0]
    tasks = list(plan_chunks(path, spec, tmp_path, records_per_chunk=50))
    assert all(not t.is_chunk_file for t in tasks) and tasks[-1].end == path.stat().st_size


def test_json_lines_with_a_bad_line_reports_it_and_goes_on(tmp_path: Path) -> None:
    path = write(tmp_path, "f.jsonl", '{"id": 1}\n{"id": 2}\n{oops\n[1, 2]\n\n{"id": 5}\n')
    spec = detect_spec(path, make_feed(path))
    rows = list(iter_rows(path, spec))
    assert [r.record["id"] for r in rows] == [1, 2, 5]
    problems = [p for row in rows for p in row.problems or []]
    assert [(p.record, "skipped" in p.message) for p in problems] == [(3, True), (4, True)]
    assert read_both(path, tmp_path, per=2) == [row.record for row in rows]


def test_truncated_json_lines_fail(tmp_path: Path) -> None:
    path = write(tmp_path, "f.jsonl", '{"id": 1}\n{"id": 2}\n{"id": 3, "name": "cut sh')
    spec = detect_spec(path, make_feed(path))
    with pytest.raises(FeedError, match="breaks off in line 3"):
        list(iter_records(path, spec))
    with pytest.raises(FeedError, match="breaks off"):
        for task in plan_chunks(path, spec, tmp_path, records_per_chunk=1):
            read_chunk(task)


def test_truncated_json_document_fails_from_plan_chunks(tmp_path: Path) -> None:
    items = ",".join(json.dumps({"id": i, "name": "x" * 100}) for i in range(5000))
    whole = '{"products": [' + items + "]}"
    path = write(tmp_path, "cut.json", whole[: len(whole) - 3000])
    spec = detect_spec(path, make_feed(path))
    with pytest.raises(FeedError, match="breaks off"):
        list(plan_chunks(path, spec, tmp_path, records_per_chunk=100))
    with pytest.raises(FeedError, match="breaks off"):
        list(iter_records(path, spec))


@pytest.mark.parametrize(("name", "records", "shape"), [
    ("shopify-products.json", "products.item", "an array"),
    ("adrecord-se-single.json", "item", "an object with keys total, products"),
    ("adrecord-se-single.json", "items.item", "an object with keys total, products"),
])
def test_root_not_as_configured_is_a_clear_error(name: str, records: str, shape: str) -> None:
    path = sample(name)
    with pytest.raises(FeedError, match=f"no records at '{records}': its root is {shape}"):
        detect_spec(path, make_feed(path, json={"records": records}))


def test_configured_record_path_is_used(tmp_path: Path) -> None:
    path = write(tmp_path, "f.json", '{"meta": {"tags": [{"a": 1}]}, "data": {"items": '
                 '[{"id": "x"}, {"id": "y"}]}}')
    assert detect_spec(path, make_feed(path)).record_path == "meta.tags.item"  # first array
    assert read_both(path, tmp_path, json={"records": "data.items.item"}) == \
        [{"id": "x"}, {"id": "y"}]


def test_bom_and_utf16_documents(tmp_path: Path) -> None:
    doc = '[{"name": "Tröja"}, {"name": "Båt"}]'
    path = write(tmp_path, "bom.json", b"\xef\xbb\xbf" + doc.encode())
    assert read_both(path, tmp_path) == [{"name": "Tröja"}, {"name": "Båt"}]
    path = write(tmp_path, "u16.json", doc.encode("utf-16"))
    assert read_both(path, tmp_path) == [{"name": "Tröja"}, {"name": "Båt"}]


def test_non_object_records_are_skipped_with_a_problem(tmp_path: Path) -> None:
    path = write(tmp_path, "f.json", '[{"id": 1}, "text", 3, {"id": 4}]')
    spec = detect_spec(path, make_feed(path))
    rows = list(iter_rows(path, spec))
    assert [r.record["id"] for r in rows] == [1, 4]
    assert [p.record for r in rows for p in r.problems or []] == [2, 3]


def test_empty_array_and_scalar_roots_are_errors(tmp_path: Path) -> None:
    empty = write(tmp_path, "empty.json", '{"products": []}')
    with pytest.raises(FeedError, match="no array of objects"):
        detect_spec(empty, make_feed(empty))
    scalar = write(tmp_path, "scalar.json", '"just text"')
    with pytest.raises(FeedError):
        detect_spec(scalar, make_feed(scalar, format="json"))


def test_one_compact_document_on_one_line_is_not_json_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "f.json", '{"total": 2, "products": [{"id": 1}, {"id": 2}]}\n')
    assert detect_spec(path, make_feed(path)).record_path == "products.item"
