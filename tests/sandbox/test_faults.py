"""Every fault, switched on and off at run time through the admin API, seen over HTTP."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import httpx
import pytest
from sandbox_clients import wc_client, wp_client

from elementafeeds.sandbox.faults import parse_fault_option
from elementafeeds.sandbox.testing import SandboxHandle


def create(site: SandboxHandle, sku: str, timeout: float = 10.0) -> httpx.Response:
    with wc_client(site, timeout=timeout) as wc:
        return wc.post("/products", json={"name": sku, "sku": sku})


def list_products(site: SandboxHandle) -> httpx.Response:
    with wc_client(site) as wc:
        return wc.get("/products")


def eventually(check: Callable[[], bool], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def test_admin_faults_are_replaced_patched_and_cleared(site: SandboxHandle) -> None:
    assert site.admin("GET", "/faults") == {"seed": 0, "faults": {}}
    site.set_faults({"rate_limit": {"rate": 0.5, "retry_after": 3}}, seed=4)
    site.patch_faults({"latency": {"seconds": 0.01}})
    got = site.admin("GET", "/faults")
    assert got["seed"] == 4 and set(got["faults"]) == {"rate_limit", "latency"}
    assert got["faults"]["rate_limit"]["retry_after"] == 3
    assert set(site.patch_faults({"rate_limit": None})["faults"]) == {"latency"}
    assert site.clear_faults()["faults"] == {}
    for bad in ({"nope": {}}, {"latency": {"rate": 2}}, {"latency": {"colour": 1}}):
        with pytest.raises(httpx.HTTPStatusError):
            site.set_faults(bad)


def test_latency_per_request(site: SandboxHandle) -> None:
    site.set_faults({"latency": {"seconds": 0.3}})
    started = time.perf_counter()
    assert list_products(site).status_code == 200
    assert time.perf_counter() - started >= 0.3
    site.clear_faults()
    started = time.perf_counter()
    list_products(site)
    assert time.perf_counter() - started < 0.25


def test_item_latency_paces_batch_items_and_a_timeout_leaves_the_first(
        sandbox: SandboxHandle) -> None:
    """A client that gives up on a slow batch finds its first items applied."""
    sandbox.set_faults({"item_latency": {"seconds": 0.15}})
    items = [{"name": f"i{i}", "sku": f"I-{i}"} for i in range(6)]
    with wc_client(sandbox, timeout=0.4) as wc, pytest.raises(httpx.ReadTimeout):
        wc.post("/products/batch", json={"create": items})
    assert 1 <= len(sandbox.products()) < 6
    eventually(lambda: len(sandbox.products()) == 6)
    sandbox.clear_faults()
    started = time.perf_counter()
    with wc_client(sandbox) as wc:
        wc.post("/products/batch", json={"create": [{"name": "fast"}] * 6})
    assert time.perf_counter() - started < 0.3


def test_capacity_queues_then_504s(site: SandboxHandle) -> None:
    site.set_faults({"capacity": {"limit": 1, "queue_timeout": 0.15},
                     "latency": {"seconds": 0.4}})
    results: list[httpx.Response] = []

    def call() -> None:
        results.append(list_products(site))

    threads = [threading.Thread(target=call) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status_code for r in results) == [200, 504]
    assert "text/html" in next(r for r in results if r.status_code == 504).headers[
        "content-type"]
    site.patch_faults({"capacity": {"limit": 1, "queue_timeout": 3}})
    results.clear()
    threads = [threading.Thread(target=call) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status_code for r in results] == [200, 200]
    assert site.request_counts()["faults"]["capacity"] == 1


def test_gateway_timeout_before_applies_nothing(site: SandboxHandle) -> None:
    site.set_faults({"gateway_timeout_before": {}})
    r = create(site, "GT-1")
    assert r.status_code == 504 and "504 Gateway Time-out" in r.text
    assert site.products() == []
    site.clear_faults()
    assert create(site, "GT-1").status_code == 201


def test_gateway_timeout_after_applies_and_a_naive_retry_collides(
        site: SandboxHandle) -> None:
    """The case that makes naive retries duplicate: the write is committed, then 504."""
    site.set_faults({"gateway_timeout_after": {"methods": "writes"}})
    assert create(site, "GA-1").status_code == 504
    owner = site.products(sku="GA-1")[0]["id"]
    site.clear_faults()
    retry = create(site, "GA-1")
    assert retry.status_code == 400 and retry.json()["data"]["resource_id"] == owner


def test_hang_after_apply_outlasts_the_client(sandbox: SandboxHandle) -> None:
    sandbox.set_faults({"hang_after_apply": {"seconds": 5}})
    with pytest.raises(httpx.ReadTimeout):
        create(sandbox, "H-1", timeout=0.3)
    assert [p["sku"] for p in sandbox.products()] == ["H-1"]
    sandbox.clear_faults()
    assert create(sandbox, "H-2", timeout=2).status_code == 201


def test_rate_limit_429_with_retry_after(site: SandboxHandle) -> None:
    site.set_faults({"rate_limit": {"retry_after": 7}})
    r = create(site, "RL-1")
    assert r.status_code == 429 and r.headers["Retry-After"] == "7"
    assert "text/html" in r.headers["content-type"] and site.products() == []
    site.clear_faults()
    assert list_products(site).status_code == 200


def test_server_error_500_with_the_wordpress_html_page(site: SandboxHandle) -> None:
    site.set_faults({"server_error": {}})
    r = list_products(site)
    assert r.status_code == 500 and "critical error on this website" in r.text
    site.clear_faults()
    assert list_products(site).status_code == 200


def test_html_200_page_instead_of_json(site: SandboxHandle) -> None:
    site.set_faults({"html_200": {}})
    r = create(site, "HT-1")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    with pytest.raises(ValueError):
        r.json()
    assert site.products() == []
    site.clear_faults()
    assert create(site, "HT-1").status_code == 201


@pytest.mark.parametrize("mode", ["notice", "truncated"])
def test_malformed_json_after_the_work_was_applied(site: SandboxHandle, mode: str) -> None:
    site.set_faults({"malformed_json": {"mode": mode}})
    r = create(site, f"MJ-{mode}")
    assert r.status_code == 201 and r.headers["content-type"].startswith("application/json")
    with pytest.raises(ValueError):
        r.json()
    assert len(site.products()) == 1
    site.clear_faults()
    assert list_products(site).json()[0]["sku"] == f"MJ-{mode}"


def test_drop_connection_before_and_after_apply(site: SandboxHandle) -> None:
    site.set_faults({"drop_connection": {}})
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        create(site, "DC-1")
    assert site.products() == []
    site.set_faults({"drop_connection": {"phase": "after"}})
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        create(site, "DC-2")
    assert [p["sku"] for p in site.products()] == ["DC-2"]
    site.clear_faults()
    assert list_products(site).status_code == 200


def test_rate_and_seed_are_repeatable(site: SandboxHandle) -> None:
    def outcomes(seed: int) -> list[int]:
        site.set_faults({"server_error": {"rate": 0.5}}, seed=seed)
        with wc_client(site) as wc:
            return [wc.get("/products").status_code for _ in range(30)]

    first, again, other = outcomes(7), outcomes(7), outcomes(8)
    assert first == again and first != other
    assert {200, 500} == set(first)


def test_methods_routes_and_times_restrict_a_fault(site: SandboxHandle) -> None:
    site.set_faults({"server_error": {"methods": "writes"}})
    assert list_products(site).status_code == 200
    assert create(site, "W-1").status_code == 500
    site.set_faults({"server_error": {"routes": ["*/products/batch"]}})
    assert create(site, "W-2").status_code == 201
    with wc_client(site) as wc:
        assert wc.post("/products/batch", json={"create": [{"name": "b"}]}).status_code == 500
    site.set_faults({"server_error": {"times": 2}})
    assert [list_products(site).status_code for _ in range(3)] == [500, 500, 200]
    assert site.admin("GET", "/faults")["faults"]["server_error"]["times"] == 0


def test_admin_routes_are_never_faulted(site: SandboxHandle) -> None:
    site.set_faults({"server_error": {}, "drop_connection": {}})
    assert site.admin("GET", "/health") == {"ok": True}
    site.clear_faults()


def test_request_counts_by_route_and_method(site: SandboxHandle) -> None:
    pid = create(site, "RC-1").json()["id"]
    with wc_client(site) as wc:
        wc.get(f"/products/{pid}")
        wc.get(f"/products/{pid}")
    site.set_faults({"rate_limit": {}})
    list_products(site)
    counts = site.request_counts()
    assert counts["by_route"]["/wp-json/wc/v3/products/{id}"] == {"GET": 2}
    assert counts["by_route"]["/wp-json/wc/v3/products"] == {"POST": 1, "GET": 1}
    assert counts["total"] == 4 and counts["faults"] == {"rate_limit": 1}
    assert site.admin("DELETE", "/requests")["total"] == 0
    site.reset()
    assert site.request_counts()["total"] == 0 and site.admin("GET", "/faults")["faults"] == {}


def test_request_counts_keep_the_items_of_each_answered_batch(site: SandboxHandle) -> None:
    pid = create(site, "BI-0").json()["id"]
    with wc_client(site) as wc:
        for items in (3, 3, 1):
            assert wc.post("/products/batch", json={
                "create": [{"name": f"n{i}", "sku": f"BI-{items}-{i}"} for i in range(items)],
            }).status_code == 200
        wc.post("/products/batch", json={"update": [{"id": pid, "name": "x"}],
                                         "delete": [pid]})
        site.set_faults({"server_error": {"routes": ["*/products/batch"]}})
        wc.post("/products/batch", json={"create": [{"name": "lost"}]})  # never answered
    site.clear_faults()
    with wp_client(site) as wp:
        assert wp.post("/batch/v1", json={"requests": [
            {"path": "/wp/v2/posts", "body": {"title": t}} for t in "ab"]}).status_code == 207
    batches = site.request_counts()["batch_items"]
    assert batches == {"/wp-json/batch/v1": {"2": 1},
                       "/wp-json/wc/v3/products/batch": {"1": 1, "2": 1, "3": 2}}
    assert site.admin("DELETE", "/requests")["batch_items"] == {}


def test_faults_given_at_start(sandbox_factory: Callable[..., SandboxHandle]) -> None:
    name, settings = parse_fault_option("rate_limit=1:retry_after=4,methods=GET|HEAD")
    assert (name, settings) == ("rate_limit", {"rate": 1.0, "retry_after": "4",
                                               "methods": "GET|HEAD"})
    site = sandbox_factory(faults={"seed": 1, "faults": {name: settings}})
    assert list_products(site).headers["Retry-After"] == "4"
    with pytest.raises(ValueError):
        parse_fault_option("no_such_fault")
