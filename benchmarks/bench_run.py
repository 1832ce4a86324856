"""`ef run --dry-run` of a generated Awin-like CSV against a bare `csv.reader` loop.

Prints wall time of both (each the median of --repeat runs, taken in turns), their ratio,
records/s, and the peak memory of the `ef` process tree (parent + pool workers, sampled every
50 ms in a run of its own, so that sampling does not slow the timed ones): the sum of PSS,
which counts a page the forked workers share with the parent once, and the sum of RSS, which
counts it in every process. `--double` runs a feed twice the size too: memory must not grow
with the feed.
Run: python benchmarks/bench_run.py --size-mb 500 --double
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).parent))
from bench_readers import generate  # noqa: E402

CONNECTION = """\
kind: site
name: shop
url: https://shop.example
credentials: {consumer_key: "${K}", consumer_secret: "${S}"}
---
kind: feed
name: feed
url: feed.csv
---
kind: connection
name: bench
feed: feed
site: shop
product_type: fashion
filters:
  match: all
  rules:
    - {field: in_stock, op: eq, value: "1"}
    - {field: search_price, op: gt, value: 1}
    - {field: brand_name, op: ne, value: Nobody}
sku: "b-{merchant_product_id}"
fields:
  name: "{brand_name} {product_name}"
  regular_price: {from: search_price, transform: [price]}
  sale_price: {from: rrp_price, transform: [price]}
  description: {from: description, transform: [strip_html]}
  short_description: {from: product_name, transform: [trim, {truncate: 60}]}
  external_url: "{aw_deep_link}"
  button_text: "Osta nyt"
  images: ["{merchant_image_url}"]
  meta.ean: "{ean}"
  meta.brand: "{brand_name}"
  meta.currency: "{currency}"
  meta.delivery: {from: delivery_cost, transform: [price]}
categories:
  source: merchant_category
  map: {"Clothing > Men": [Miehet]}
attributes:
  - {name: Colour, from: colour}
  - {name: Size, from: size, split: ","}
"""


def bare_csv(path: Path) -> tuple[float, int]:
    start = time.perf_counter()
    n = 0
    with path.open(newline="", encoding="utf-8") as f:
        for _ in csv.reader(f):
            n += 1
    return time.perf_counter() - start, n - 1


def ef_dry_run(root: Path, workers: int, sample: bool) -> tuple[float, float, float, str]:
    """(seconds, peak PSS sum MB, peak RSS sum MB, run status or error) of one dry run.
    Sampling memory reads /proc/PID/smaps of each process every 50 ms, which takes CPU from
    the run on a 2-core machine, so the timed run does not sample (its peaks are 0)."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "elementafeeds", "-w", str(root), "run",
                             "bench", "--dry-run", "--json", "--force", "--workers",
                             str(workers)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={"K": "x", "S": "y", "PATH": "/usr/bin:/bin"})
    parent = psutil.Process(proc.pid)
    peak_pss = peak_rss = 0
    while sample and proc.poll() is None:
        try:
            tree = [parent, *parent.children(recursive=True)]
            pss = rss = 0
            for p in tree:
                info = p.memory_full_info()
                pss, rss = pss + info.pss, rss + info.rss
            peak_pss, peak_rss = max(peak_pss, pss), max(peak_rss, rss)
        except psutil.Error:
            pass
        time.sleep(0.05)
    out, err = proc.communicate()
    return (time.perf_counter() - start, peak_pss / 2**20, peak_rss / 2**20,
            _status(out.decode(), err.decode()))


def _status(out: str, err: str) -> str:
    try:
        return json.loads(out)["runs"][0]["status"]
    except (ValueError, KeyError, IndexError):
        return f"no run: {err[-400:]}"


def measure(size_mb: int, workers: int, repeat: int) -> None:
    """Bare loop and dry run `repeat` times, one after the other (the machine's noise then
    hits both alike); the ratio of the medians."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "connections").mkdir()
        (root / "connections" / "bench.yaml").write_text(CONNECTION)
        feed = generate(root / "feed.csv", "csv", size_mb)
        bares, runs, statuses = [], [], set()
        for _ in range(repeat):
            bare, rows = bare_csv(feed)
            ef_time, _, _, status = ef_dry_run(root, workers, sample=False)
            bares.append(bare)
            runs.append(ef_time)
            statuses.add(status)
        _, pss, rss, _ = ef_dry_run(root, workers, sample=True)
        bare, ef_time = statistics.median(bares), statistics.median(runs)
        print(f"feed: {feed.stat().st_size / 2**20:.0f} MB, {rows:,} records")
        print(f"  bare csv.reader: {bare:.2f} s ({rows / bare:,.0f} rows/s), median of "
              f"{_seconds(bares)}")
        print(f"  ef run --dry-run --workers {workers}: {ef_time:.2f} s "
              f"({rows / ef_time:,.0f} rows/s), median of {_seconds(runs)}")
        print(f"  ratio of the medians {ef_time / bare:.2f}x; run by run "
              f"{', '.join(f'{r / b:.2f}x' for b, r in zip(bares, runs))}")
        print(f"  peak memory of the ef process tree: PSS sum {pss:.0f} MB, RSS sum {rss:.0f} MB")
        if statuses != {"completed"}:
            print(f"  a run did not complete: {statuses - {'completed'}}")


def _seconds(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mb", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--double", action="store_true",
                        help="also run a feed twice the size (memory must stay flat)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="bare loops and dry runs, taken in turns (default 3)")
    args = parser.parse_args()
    measure(args.size_mb, args.workers, args.repeat)
    if args.double:
        measure(args.size_mb * 2, args.workers, args.repeat)


if __name__ == "__main__":
    main()
