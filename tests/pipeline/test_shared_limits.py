"""Two connections into one site share its limits: never more requests in flight than
`limits.concurrency`, however many connections write to it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.pipeline.conftest import ef, write_feed


@pytest.mark.parametrize("workers", ["1", "2"])  # chunks in this process, or a shared pool
def test_two_connections_respect_the_sites_shared_concurrency(workspace: Path, sandbox,
                                                              workers: str) -> None:
    config = workspace / "connections" / "all.yaml"
    text = config.read_text().replace("concurrency: 4", "concurrency: 2")
    second = text[text.index("kind: connection"):].replace("name: shop-feed", "name: shop-feed-2")
    second = second.replace('sku: "t-', 'sku: "u-').replace("feed: feed", "feed: feed2")
    config.write_text(text + "---\nkind: feed\nname: feed2\nurl: feeds/second.csv\n---\n" + second)
    write_feed(workspace / "feeds" / "second.csv", 120)
    # the site serves two requests at once; a third is refused at once with a 504
    sandbox.set_faults({"latency": {"seconds": 0.05},
                        "capacity": {"limit": 2, "queue_timeout": 0.001}})
    result = ef(workspace, "run", "--all", "--parallel", "2", "--workers", workers, "--json")
    runs = json.loads(result.stdout)["runs"]
    assert result.returncode == 0, runs
    assert sorted(r["created"] for r in runs) == [120, 120]
    assert sandbox.request_counts()["faults"].get("capacity", 0) == 0
