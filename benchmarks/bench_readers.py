"""Reader benchmarks: speed against the bare parsers, peak memory, and preview over HTTP.

    python benchmarks/bench_readers.py                    # 200 MB speed, 500 MB memory/preview
    python benchmarks/bench_readers.py --size-mb 20 --rss-size-mb 50 --preview-size-mb 50

Prints figures; asserts nothing (targets: ≤ 1.5 × the bare parser, < 150 MB peak RSS,
preview < 2 s and < 5 MB transferred). Feeds are generated into a temporary directory
(Awin-like CSV, Google-Merchant-like RSS with `g:` fields, a `{"products": [...]}` JSON).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import random
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

AWIN = ["aw_product_id", "merchant_product_id", "product_name", "description", "search_price",
        "merchant_category", "aw_deep_link", "merchant_image_url", "brand_name", "colour",
        "size", "in_stock", "ean", "currency", "delivery_cost", "merchant_name", "rrp_price",
        "last_updated"]
WORDS = ["soft", "cotton", "jersey", "classic", "fit", "organic", "linen", "wool", "blend",
         "stretch", "denim", "slim", "straight", "relaxed", "summer", "winter", "regular", "crew"]


def awin_rows(seed: int = 1) -> Iterator[list[str]]:
    rnd = random.Random(seed)
    for i in range(10**12):
        words = " ".join(rnd.choice(WORDS) for _ in range(40))
        name = f"{rnd.choice(WORDS).title()} T-shirt, {rnd.choice(['red', 'blue', 'grön'])}"
        yield [str(1_000_000 + i), f"SKU-{i:08d}", name,
               f'<p>{words}</p><ul><li>Size "M" fits</li><li>{rnd.choice(WORDS)}</li></ul>',
               f"{rnd.randint(5, 300)}.{rnd.randint(0, 99):02d}", "Clothing > Men > T-Shirts",
               f"https://www.awin1.com/pclick.php?p={1_000_000 + i}&a=12345&m=6789",
               f"https://images.example.com/p/{i}.jpg", rnd.choice(["Acme", "Nordic", "Hemtex"]),
               rnd.choice(["Red", "Blue", "Grön"]), rnd.choice("SMLX"), rnd.choice("01"),
               str(rnd.randint(10**12, 10**13 - 1)), "SEK", "49.00", "Hemtex SE", "399.00",
               "2024-01-01 12:00:00"]


def generate(path: Path, fmt: str, megabytes: int) -> Path:
    if path.exists() and path.stat().st_size >= megabytes * 2**20:
        return path
    limit = megabytes * 2**20
    with path.open("w", encoding="utf-8", newline="") as out:
        rows = awin_rows()
        if fmt == "csv":
            writer = csv.writer(out)
            writer.writerow(AWIN)
            while out.tell() < limit:
                writer.writerows(next(rows) for _ in range(1000))
        elif fmt == "xml":
            out.write('<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
                      'xmlns:g="http://base.google.com/ns/1.0"><channel><title>Feed</title>\n')
            while out.tell() < limit:
                for row in (next(rows) for _ in range(1000)):
                    out.write("<item>" + "".join(
                        f"<description><![CDATA[{v}]]></description>" if c == "description"
                        else f'<g:price currency="SEK">{v}</g:price>' if c == "search_price"
                        else f"<g:{c}>{escape(v)}</g:{c}>" for c, v in zip(AWIN, row)) +
                        "<g:additional_image_link>https://i.example.com/a.jpg"
                        "</g:additional_image_link><g:additional_image_link>"
                        "https://i.example.com/b.jpg</g:additional_image_link></item>\n")
            out.write("</channel></rss>\n")
        else:
            out.write('{"total": 0, "products": [\n')
            first = True
            while out.tell() < limit:
                for row in (next(rows) for _ in range(1000)):
                    record: dict = dict(zip(AWIN, row))
                    record["search_price"] = float(record["search_price"])
                    record["images"] = [{"uri": "https://i.example.com/a.jpg", "width": 600}]
                    out.write(("" if first else ",\n") + json.dumps(record, ensure_ascii=False))
                    first = False
            out.write("\n]}\n")
    return path


def best_of(runs: int, fn: Callable[[], int]) -> tuple[float, int]:
    best, count = float("inf"), 0
    for _ in range(runs):
        started = time.perf_counter()
        count = fn()
        best = min(best, time.perf_counter() - started)
    return best, count


def baseline(fmt: str, path: Path) -> int:
    if fmt == "csv":
        with path.open(newline="", encoding="utf-8") as handle:
            return sum(1 for _ in csv.reader(handle)) - 1
    if fmt == "xml":
        from lxml import etree

        count = 0
        for _, el in etree.iterparse(str(path), events=("end",), tag="item"):
            for child in el:
                child.text  # noqa: B018 (touch the values, as any reader must)
            count += 1
            el.clear()
            while el.getprevious() is not None:
                del el.getparent()[0]
        return count
    import ijson

    with path.open("rb") as handle:
        return sum(1 for _ in ijson.items(handle, "products.item"))


def _count(task: object) -> int:
    """A pool worker's share: parse one chunk (the records stay in the worker, as in a run)."""
    from elementafeeds.feeds import read_chunk

    return len(read_chunk(task).records)  # type: ignore[arg-type]


def pooled(path: Path, spec: object, work: Path, workers: int = 2) -> int:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from elementafeeds.feeds import plan_chunks

    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        return sum(pool.map(_count, plan_chunks(path, spec, work)))  # type: ignore[arg-type]


def speed(fmt: str, path: Path, work: Path, runs: int) -> None:
    from elementafeeds.config.models import Feed
    from elementafeeds.feeds import detect_spec, iter_records, plan_chunks, read_chunk

    spec = detect_spec(path, Feed(kind="feed", name="bench", url=str(path)))

    def chunked() -> int:
        return sum(len(read_chunk(t).records) for t in plan_chunks(path, spec, work))

    base, n0 = best_of(runs, lambda: baseline(fmt, path))
    streamed, n1 = best_of(runs, lambda: sum(1 for _ in iter_records(path, spec)))
    chunks, n2 = best_of(runs, chunked)
    pool, n3 = best_of(runs, lambda: pooled(path, spec, work))
    size = path.stat().st_size / 2**20
    print(f"{fmt:4} {size:6.0f} MB {n0:>8} records | bare {base:6.2f} s "
          f"({size / base:5.0f} MB/s) | iter_records {streamed:6.2f} s ×{streamed / base:4.2f} "
          f"| plan+read_chunk {chunks:6.2f} s ×{chunks / base:4.2f} | 2-process pool "
          f"{pool:6.2f} s ×{pool / base:4.2f}"
          + ("" if n0 == n1 == n2 == n3 else f"  COUNTS DIFFER {n0} {n1} {n2} {n3}"))


# Peak RSS is read from VmHWM: ru_maxrss survives execve on Linux, so a child started by a
# big parent would report the parent's size (measured: 115 MB for a 37 MB child).
RSS_CODE = """
import sys, tempfile
from pathlib import Path
from elementafeeds.config.models import Feed
from elementafeeds.feeds import detect_spec, iter_records, plan_chunks, read_chunk
path, mode = Path(sys.argv[1]), sys.argv[2]
spec = detect_spec(path, Feed(kind="feed", name="bench", url=str(path)))
with tempfile.TemporaryDirectory() as work:
    if mode == "iter":
        n = sum(1 for _ in iter_records(path, spec))
    else:
        n = sum(len(read_chunk(t).records) for t in plan_chunks(path, spec, Path(work)))
hwm = [line for line in open("/proc/self/status") if line.startswith("VmHWM")][0]
print(n, hwm.split()[1])
"""


def peak_rss(fmt: str, path: Path) -> None:
    for mode in ("iter", "chunks"):
        out = subprocess.run([sys.executable, "-c", RSS_CODE, str(path), mode],
                             capture_output=True, text=True, check=True).stdout.split()
        print(f"{fmt:4} {path.stat().st_size / 2**20:6.0f} MB {mode:6}: {out[0]} records, "
              f"peak RSS {int(out[1]) / 1024:6.1f} MB")


class _Counter:
    sent = 0   # bytes the server wrote into its socket (its kernel send buffer included)
    acked = 0  # bytes the client's TCP stack acknowledged: what really went over the wire
    done = threading.Event()

    def reset(self) -> None:
        self.sent = self.acked = 0
        self.done = threading.Event()


def _bytes_acked(sock: socket.socket) -> int:
    """tcpi_bytes_acked from Linux's struct tcp_info (offset 120); 0 where unavailable."""
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
        return struct.unpack_from("Q", info, 120)[0] if len(info) >= 128 else 0
    except (OSError, AttributeError):
        return 0


def serve(files: dict[str, Path]) -> tuple[ThreadingHTTPServer, _Counter]:
    counter = _Counter()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            path = files[self.path]
            self.send_response(200)
            self.send_header("Content-Length", str(path.stat().st_size))
            self.end_headers()
            with path.open("rb") as handle:
                try:
                    while chunk := handle.read(65536):
                        self.wfile.write(chunk)
                        counter.sent += len(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                finally:
                    counter.acked += _bytes_acked(self.connection)
                    counter.done.set()

    class Quiet(ThreadingHTTPServer):
        def handle_error(self, request: object, client_address: object) -> None:
            pass  # the preview hangs up early on purpose

    server = Quiet(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, counter


def preview(files: dict[str, Path]) -> None:
    from elementafeeds.config.models import Feed
    from elementafeeds.feeds import preview_feed

    server, counter = serve(files)
    port = server.server_address[1]
    try:
        for name, path in files.items():
            url = f"http://127.0.0.1:{port}{name}"
            counter.reset()
            started = time.perf_counter()
            result = preview_feed(Feed(kind="feed", name="bench", url=url), Path.cwd(), 100)
            took = time.perf_counter() - started
            counter.done.wait(10)
            print(f"preview {name:10} {path.stat().st_size / 2**20:6.0f} MB: library "
                  f"{took:5.2f} s, {len(result.records)} records, client read "
                  f"{result.bytes_fetched / 2**20:5.2f} MB, transferred (TCP acked) "
                  f"{counter.acked / 2**20:5.2f} MB, server wrote {counter.sent / 2**20:5.2f} MB")
            counter.reset()
            started = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "elementafeeds", "preview", url,
                                   "--json"], check=False, capture_output=True, text=True)
            took = time.perf_counter() - started
            counter.done.wait(10)
            rows = len(json.loads(done.stdout)["records"]) if done.returncode == 0 else "-"
            print(f"        `ef preview URL --json` (a new process): {took:5.2f} s, exit "
                  f"{done.returncode}, {rows} records, transferred {counter.acked / 2**20:5.2f} "
                  f"MB, server wrote {counter.sent / 2**20:5.2f} MB")
    finally:
        server.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=200, help="feed size for speed runs")
    parser.add_argument("--rss-size-mb", type=int, default=500, help="feed size for memory")
    parser.add_argument("--preview-size-mb", type=int, default=500, help="feed size, preview")
    parser.add_argument("--runs", type=int, default=3, help="best of N runs")
    parser.add_argument("--formats", default="csv,xml,json")
    parser.add_argument("--skip", default="", help="comma list of speed,rss,preview")
    parser.add_argument("--dir", type=Path, default=None, help="keep generated feeds here")
    args = parser.parse_args()
    formats = args.formats.split(",")
    skip = set(args.skip.split(","))
    root = args.dir or Path(tempfile.mkdtemp(prefix="ef-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    work = root / "work"
    work.mkdir(exist_ok=True)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, files in {root}")
    if "speed" not in skip:
        for fmt in formats:
            speed(fmt, generate(root / f"speed-{args.size_mb}.{fmt}", fmt, args.size_mb),
                  work, args.runs)
    if "rss" not in skip:
        for fmt in formats:
            peak_rss(fmt, generate(root / f"rss-{args.rss_size_mb}.{fmt}", fmt,
                                   args.rss_size_mb))
    if "preview" not in skip:
        big = generate(root / f"rss-{args.preview_size_mb}.csv", "csv", args.preview_size_mb)
        packed = root / f"preview-{args.preview_size_mb}.csv.gz"
        if not packed.exists():
            with big.open("rb") as source, gzip.open(packed, "wb", compresslevel=1) as target:
                while chunk := source.read(2**20):
                    target.write(chunk)
        files = {"/feed.csv": big, "/feed.csv.gz": packed}
        if "xml" in formats:
            files["/feed.xml"] = generate(root / f"rss-{args.preview_size_mb}.xml", "xml",
                                          args.preview_size_mb)
        preview(files)
    if args.dir is None:
        import shutil

        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
