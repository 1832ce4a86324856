"""The reader contract the pipeline relies on: picklable tasks, worker processes, plugins."""

from __future__ import annotations

import multiprocessing
import pickle
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from feed_helpers import SAMPLES, make_feed, sample

from elementafeeds.errors import FeedError, HostileFeedError
from elementafeeds.feeds import (
    ChunkRead,
    ChunkTask,
    FeedSpec,
    RecordProblem,
    detect_spec,
    iter_records,
    plan_chunks,
    read_chunk,
)
from elementafeeds.feeds.detect import HtmlPageError
from elementafeeds.feeds.registry import GROUP, available_formats, get_reader

FEEDS = sorted(p.name for p in SAMPLES.glob("*") if p.suffix in (".csv", ".xml", ".json",
                                                                  ".jsonl"))


@pytest.mark.parametrize("name", FEEDS)
@pytest.mark.parametrize("per", [1, 7, 500])
def test_chunks_give_exactly_the_records_of_iter_records(tmp_path: Path, name: str,
                                                         per: int) -> None:
    path = sample(name)
    spec = detect_spec(path, make_feed(path))
    streamed = list(iter_records(path, spec))
    tasks = list(plan_chunks(path, spec, tmp_path, records_per_chunk=per))
    records = [r for t in tasks for r in read_chunk(t).records]
    assert records == streamed and streamed
    assert [t.index for t in tasks] == list(range(len(tasks)))
    assert tasks[0].first_record == 1


def test_tasks_specs_and_results_pickle(tmp_path: Path) -> None:
    path = sample("magento-sample-gear-bags.csv")
    spec = detect_spec(path, make_feed(path))
    task = next(iter(plan_chunks(path, spec, tmp_path)))
    assert pickle.loads(pickle.dumps(task)) == task
    assert pickle.loads(pickle.dumps(spec)) == spec
    read = read_chunk(task)
    again = pickle.loads(pickle.dumps(read))
    assert isinstance(again, ChunkRead) and again.records == read.records
    problem = RecordProblem(3, "name", "x")
    assert pickle.loads(pickle.dumps(problem)) == problem
    for error in (FeedError("a", hint="h"), HostileFeedError("b"), HtmlPageError("c")):
        back = pickle.loads(pickle.dumps(error))
        assert type(back) is type(error) and back.message == error.message


def test_chunks_run_in_worker_processes(tmp_path: Path) -> None:
    records = {}
    context = multiprocessing.get_context("forkserver")
    for name in ("google-merchant-example-rss.xml", "woocommerce-sample-products.csv",
                 "google-retail-products.jsonl"):
        path = sample(name)
        spec = detect_spec(path, make_feed(path))
        tasks = list(plan_chunks(path, spec, tmp_path, records_per_chunk=40))
        with ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
            reads = list(pool.map(read_chunk, tasks))
        records[name] = [r for read in reads for r in read.records]
        assert records[name] == list(iter_records(path, spec))


def test_fatal_problems_cross_the_process_boundary(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_text("id,desc\n" + "".join(f"{i},ok\n" for i in range(30000)) +
                    '9,"' + "x" * 300_000 + '"\n')
    spec = detect_spec(path, make_feed(path, csv={"max_field_bytes": 100_000}))
    tasks = list(plan_chunks(path, spec, tmp_path, records_per_chunk=10_000))
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool, \
            pytest.raises(HostileFeedError, match="max_field_bytes"):
        list(pool.map(read_chunk, tasks))


def test_plan_chunks_is_lazy_for_parsed_formats(tmp_path: Path) -> None:
    path = tmp_path / "f.jsonarray.json"
    path.write_text("[" + ",".join(f'{{"id": {i}}}' for i in range(10_000)) + "]")
    spec = detect_spec(path, make_feed(path))
    work = tmp_path / "work"
    tasks = plan_chunks(path, spec, work, records_per_chunk=100)
    first = next(iter(tasks))
    assert first.is_chunk_file and len(list(work.iterdir())) == 1
    assert read_chunk(first).records[0] == {"id": 0}
    assert list(work.iterdir()) == []  # consumed


def test_spec_is_the_documented_dataclass() -> None:
    spec = FeedSpec("csv", "utf-8", ",", '"', True, 0, 0, 1024, None, ("a",))
    assert spec.dialect == {"delimiter": ",", "quotechar": '"', "header": True,
                            "skip_lines": 0, "skip_footer_lines": 0}
    task = ChunkTask(0, "/x", 0, -1, spec, 1)
    assert task.is_chunk_file


def test_readers_are_entry_point_plugins_loaded_lazily() -> None:
    from importlib.metadata import entry_points

    names = {ep.name: ep.value for ep in entry_points(group=GROUP)}
    assert names["csv"] == "elementafeeds.feeds.csv_reader:CsvReader"
    assert {"csv", "xml", "json"} <= set(available_formats())
    assert get_reader("xml").format == "xml"
    with pytest.raises(FeedError, match="no reader"):
        get_reader("yaml")


def test_importing_the_feeds_package_loads_no_parser_or_http_client() -> None:
    code = ("import sys, elementafeeds.feeds, elementafeeds.cli.preview_cmd; "
            "print(sorted(m for m in ('lxml', 'httpx', 'ijson', 'charset_normalizer') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"
