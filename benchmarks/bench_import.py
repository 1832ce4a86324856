"""Imports into the sandbox through the real `ef run` (issue 6 targets). Prints figures only.

    python benchmarks/bench_import.py                      # both parts at their defaults
    python benchmarks/bench_import.py throughput --records 4000
    python benchmarks/bench_import.py rerun --records 100000

throughput
    First import of a generated Awin-like feed into a sandbox with 100 ms + 2 ms/item service
    time. (a) the share of product writes that travelled in full batches (target ≥ 90 %),
    counted from the batch sizes the sandbox received; (b) with sandbox capacity 4, the
    products/s of the adaptive window (`limits.concurrency` 16) against the best *fixed*
    concurrency (`min_concurrency` = `concurrency` = 1, 2, 4, 8, 16; target ≥ 85 %).
rerun
    First import of a generated feed (default 100 000 products, no latency faults), then a
    re-run of the same content with a changed validator (the file is touched, so its ETag —
    size and mtime — differs and the run really reads the feed). Target: zero product writes
    in the re-run (counted by the sandbox) and first import / re-run ≥ 20 ×.

Everything runs against 127.0.0.1 only: `ef sandbox` and `ef run` are subprocesses, the
workspace and the sandbox's database live in a temporary directory.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from bench_readers import AWIN, awin_rows  # noqa: E402

CONNECTION = """\
kind: site
name: shop
url: {url}
credentials: {{consumer_key: "${{BENCH_KEY}}", consumer_secret: "${{BENCH_SECRET}}"}}
limits: {{batch_size: {batch_size}, concurrency: {concurrency}{min_concurrency}, timeout_s: 30}}
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
sku: "b-{{merchant_product_id}}"
fields:
  name: "{{brand_name}} {{product_name}}"
  regular_price: {{from: search_price, transform: [price]}}
  description: {{from: description, transform: [strip_html]}}
  short_description: {{from: product_name, transform: [trim, {{truncate: 60}}]}}
  external_url: "{{aw_deep_link}}"
  images: ["{{merchant_image_url}}"]
  meta.ean: "{{ean}}"
  meta.brand: "{{brand_name}}"
categories:
  source: merchant_category
  map: {{"Clothing > Men": [Miehet]}}
attributes:
  - {{name: Colour, from: colour}}
  - {{name: Size, from: size, split: ","}}
"""

BATCH_ROUTE = "/wp-json/wc/v3/products/batch"
SERVICE = {"latency": {"seconds": 0.1}, "item_latency": {"seconds": 0.002}}


def write_feed(path: Path, records: int) -> Path:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(AWIN)
        rows = awin_rows()
        for _ in range(records):
            row = next(rows)
            row[AWIN.index("in_stock")] = "1"
            writer.writerow(row)
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Sandbox:
    """`ef sandbox` in a subprocess on 127.0.0.1, steered through `/__admin`."""

    def __init__(self, root: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "elementafeeds", "sandbox", "--port", str(self.port),
             "--db", str(root / "sandbox.db")],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ef_env())
        self.admin = httpx.Client(base_url=f"{self.url}/__admin", timeout=60, trust_env=False)
        deadline = time.monotonic() + 30
        while True:
            try:
                self.admin.get("/health").raise_for_status()
                break
            except httpx.HTTPError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("sandbox did not start: "
                                       + self.proc.stderr.read().decode()[-2000:])
                time.sleep(0.1)

    def call(self, method: str, path: str, body: Any = None) -> Any:
        response = self.admin.request(method, path, json=body)
        response.raise_for_status()
        return response.json()

    def fresh(self, faults: dict[str, Any]) -> None:
        """An empty site with these faults and zeroed request counters."""
        self.call("POST", "/reset")
        self.call("POST", "/seed/categories", {"tree": [{"name": "Miehet"}]})
        self.call("PUT", "/faults", {"seed": 0, "faults": faults})
        self.call("DELETE", "/requests")

    def requests(self) -> dict[str, Any]:
        return self.call("GET", "/requests")

    def close(self) -> None:
        self.admin.close()
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def ef_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.update(BENCH_KEY="ck_sandbox", BENCH_SECRET="cs_sandbox", NO_PROXY="127.0.0.1")
    return env


def workspace(root: Path, url: str, *, batch_size: int, concurrency: int,
              fixed: bool) -> None:
    (root / "connections").mkdir(parents=True, exist_ok=True)
    (root / "connections" / "bench.yaml").write_text(CONNECTION.format(
        url=url, batch_size=batch_size, concurrency=concurrency,
        min_concurrency=f", min_concurrency: {concurrency}" if fixed else ""))


def ef_run(root: Path, workers: int, *extra: str) -> tuple[float, dict[str, Any]]:
    os.sync()  # the previous step's dirty pages are not this run's to write back
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "elementafeeds", "-w", str(root), "run",
                           "bench", "--json", "--workers", str(workers), *extra],
                          capture_output=True, text=True, env=ef_env(), check=False)
    elapsed = time.perf_counter() - started
    try:
        run = json.loads(proc.stdout)["runs"][0]
    except (ValueError, KeyError, IndexError):
        raise RuntimeError(f"ef run failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n"
                           f"{proc.stderr[-2000:]}") from None
    return elapsed, run


def reset_state(root: Path) -> None:
    state = root / ".ef"
    for name in ("state.db", "state.db-wal", "state.db-shm"):
        (state / name).unlink(missing_ok=True)


def batch_sizes(counts: dict[str, Any]) -> dict[int, int]:
    """{items in a batch request: how many such requests} for products/batch."""
    sizes = counts.get("batch_items", {}).get(BATCH_ROUTE, {})
    return {int(size): n for size, n in sizes.items()}


def product_writes(counts: dict[str, Any]) -> int:
    """Items written through products/batch plus single-product POST/PUT/PATCH/DELETE."""
    items = sum(size * n for size, n in batch_sizes(counts).items())
    singles = sum(n for route, methods in counts["by_route"].items()
                  if route.startswith("/wp-json/wc/v3/products") and route != BATCH_ROUTE
                  and "/categories" not in route and "/attributes" not in route
                  and "/tags" not in route
                  for method, n in methods.items() if method != "GET")
    return items + singles


def one_import(sandbox: Sandbox, root: Path, args: argparse.Namespace, faults: dict[str, Any],
               concurrency: int, fixed: bool) -> dict[str, Any]:
    sandbox.fresh(faults)
    reset_state(root)
    workspace(root, sandbox.url, batch_size=args.batch_size, concurrency=concurrency,
              fixed=fixed)
    elapsed, run = ef_run(root, args.workers)
    counts = sandbox.requests()
    sizes = batch_sizes(counts)
    items = sum(size * n for size, n in sizes.items())
    full = sizes.get(args.batch_size, 0) * args.batch_size
    return {"elapsed": elapsed, "run": run, "sizes": sizes, "items": items, "full": full,
            "requests": counts["total"], "faults": counts.get("faults", {}),
            "rate": (run["created"] + run["updated"]) / run["duration_s"]}


def describe(label: str, result: dict[str, Any]) -> str:
    run = result["run"]
    fired = ", ".join(f"{k} {v}" for k, v in sorted(result["faults"].items())
                      if k not in ("latency", "item_latency")) or "none"
    return (f"  {label:<22} {run['duration_s']:6.1f} s run ({result['elapsed']:.1f} s wall)  "
            f"{result['rate']:6.1f} products/s  "
            f"{run['status']}, created {run['created']}, failed {run['failed']}, "
            f"{result['requests']} requests, faults fired: {fired}")


def throughput(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="ef-bench-import-") as tmp:
        root = Path(tmp)
        write_feed(root / "feed.csv", args.records)
        sandbox = Sandbox(root)
        try:
            print(f"== first import, service time 100 ms + 2 ms/item, {args.records:,} "
                  f"products, batch_size {args.batch_size}, {args.workers} workers")
            open_site = one_import(sandbox, root, args, SERVICE, args.max_concurrency, False)
            print(describe(f"no capacity limit, adaptive ≤{args.max_concurrency}", open_site))
            share = open_site["full"] / max(1, open_site["items"])
            print(f"  batches by size: {dict(sorted(open_site['sizes'].items()))}")
            print(f"  product writes in full batches: {open_site['full']:,} of "
                  f"{open_site['items']:,} = {share:.1%}  (target ≥ 90 %)")

            capped = {**SERVICE, "capacity": {"limit": args.capacity,
                                              "queue_timeout": args.queue_timeout}}
            service = SERVICE["latency"]["seconds"] + args.batch_size * SERVICE[
                "item_latency"]["seconds"]
            print(f"== capacity {args.capacity} (queue timeout {args.queue_timeout} s), "
                  f"adaptive vs fixed concurrency; the site's ceiling is {args.capacity} × "
                  f"{args.batch_size} / {service:.2f} s = "
                  f"{args.capacity * args.batch_size / service:.0f} products/s")
            adaptive = one_import(sandbox, root, args, capped, args.max_concurrency, False)
            print(describe(f"adaptive ≤{args.max_concurrency}", adaptive))
            share = adaptive["full"] / max(1, adaptive["items"])
            print(f"  {'':<22} product writes in full batches {share:.1%}, "
                  f"batches by size: {dict(sorted(adaptive['sizes'].items()))}")
            fixed: dict[int, dict[str, Any]] = {}
            for level in args.fixed:
                fixed[level] = one_import(sandbox, root, args, capped, level, True)
                print(describe(f"fixed {level}", fixed[level]))
            best = max(fixed, key=lambda level: fixed[level]["rate"])
            ratio = adaptive["rate"] / fixed[best]["rate"]
            print(f"  adaptive {adaptive['rate']:.1f} products/s vs best fixed ({best}) "
                  f"{fixed[best]['rate']:.1f} products/s = {ratio:.1%}  (target ≥ 85 %)")
        finally:
            sandbox.close()


def rerun(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="ef-bench-rerun-") as tmp:
        root = Path(tmp)
        feed = write_feed(root / "feed.csv", args.records)
        sandbox = Sandbox(root)
        try:
            print(f"== re-run of an unchanged feed, {args.records:,} products "
                  f"({feed.stat().st_size / 2**20:.0f} MB), batch_size {args.batch_size}, "
                  f"{args.workers} workers, no latency faults")
            sandbox.fresh({})
            reset_state(root)
            workspace(root, sandbox.url, batch_size=args.batch_size,
                      concurrency=args.max_concurrency, fixed=False)
            first, run1 = ef_run(root, args.workers)
            counts1 = sandbox.requests()
            print(f"  first import: {first:.1f} s wall, {run1['duration_s']:.1f} s run, "
                  f"{run1['status']}, created "
                  f"{run1['created']:,}, failed {run1['failed']}, {counts1['total']:,} "
                  f"requests, {product_writes(counts1):,} product writes")
            walls, durations = [], []
            for attempt in range(1, args.reruns + 1):
                sandbox.call("DELETE", "/requests")
                stat = feed.stat()  # a new mtime: a new ETag for the same bytes
                os.utime(feed, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
                second, run2 = ef_run(root, args.workers)
                counts2 = sandbox.requests()
                writes = product_writes(counts2)
                walls.append(second)
                durations.append(run2["duration_s"])
                print(f"  re-run {attempt} (file touched: new ETag, same content): "
                      f"{second:.2f} s wall, {run2['duration_s']:.2f} s run, "
                      f"{run2['status']}, records {run2['records']:,}, unchanged "
                      f"{run2['unchanged']:,}, updated {run2['updated']}, created "
                      f"{run2['created']}, {counts2['total']} requests, {writes} product "
                      "writes  (target 0)")
                if run2["status"] == "skipped":
                    print("  WARNING: the re-run was skipped; the feed was not read")
            wall, duration = statistics.median(walls), statistics.median(durations)
            print(f"  first import / re-run: first re-run {first / walls[0]:.1f} × wall "
                  f"({run1['duration_s'] / durations[0]:.1f} × by the runs' own duration); "
                  f"median of {len(walls)}: {first / wall:.1f} × wall "
                  f"({run1['duration_s'] / duration:.1f} × by duration)  (target ≥ 20 ×)")
        finally:
            sandbox.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("part", nargs="?", choices=("throughput", "rerun", "all"),
                        default="all")
    parser.add_argument("--records", type=int, default=None,
                        help="products in the feed (throughput: 4000, rerun: 100000)")
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--capacity", type=int, default=4)
    parser.add_argument("--queue-timeout", type=float, default=1.0)
    parser.add_argument("--max-concurrency", type=int, default=16)
    parser.add_argument("--reruns", type=int, default=3, help="re-runs after the import")
    parser.add_argument("--fixed", type=lambda s: [int(x) for x in s.split(",")],
                        default=[1, 2, 4, 8, 16])
    args = parser.parse_args()
    given = args.records
    if args.part in ("throughput", "all"):
        args.records = given or 4000
        throughput(args)
    if args.part in ("rerun", "all"):
        args.records = given or 100_000
        rerun(args)


if __name__ == "__main__":
    main()
