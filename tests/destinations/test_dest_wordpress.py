"""The WordPress destination against the sandbox's WordPress side over HTTP."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from dest_helpers import FAST, make_gate

from elementafeeds.config.models import Site
from elementafeeds.destinations.base import WriteOp
from elementafeeds.destinations.registry import destination_class
from elementafeeds.destinations.wordpress import WordPressDestination
from elementafeeds.errors import SiteError
from elementafeeds.sandbox.testing import SandboxHandle

USER_ENV, PASS_ENV = "EF_TEST_WP_USER", "EF_TEST_WP_PASSWORD"


@pytest.fixture
def wp(shared_sandbox: SandboxHandle, monkeypatch: pytest.MonkeyPatch
       ) -> Iterator[SandboxHandle]:
    monkeypatch.setenv(USER_ENV, shared_sandbox.wp_user)
    monkeypatch.setenv(PASS_ENV, shared_sandbox.wp_password)
    shared_sandbox.reset()
    yield shared_sandbox
    shared_sandbox.reset()


class Recorder(httpx.AsyncBaseTransport):
    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.batches: list[int] = []
        self.writes: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/batch/v1"):
            self.batches.append(len(json.loads(request.content)["requests"]))
        elif request.method != "GET":
            self.writes.append(f"{request.method} {request.url.path}")
        response = await self._inner.handle_async_request(request)
        await response.aread()
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


def dest(sb: SandboxHandle, **kw: Any) -> WordPressDestination:
    site = Site.model_validate({
        "kind": "site", "name": "blog", "url": sb.url, "platform": "wordpress",
        "credentials": {"username": "${" + USER_ENV + "}",
                        "application_password": "${" + PASS_ENV + "}"},
        "limits": {"batch_size": 10, "concurrency": 4, "timeout_s": 5},
    })
    return WordPressDestination(site, make_gate(site), retry=FAST, **kw)


def post(n: int, **extra: Any) -> WriteOp:
    payload = {"title": f"Hotel {n}", "content": f"Room {n}", "status": "publish",
               "meta": {"_elementa_feed_connection_id": "c1"}, **extra}
    return WriteOp("create", f"H-{n}", payload)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_registry_knows_wordpress() -> None:
    assert destination_class("wordpress") is WordPressDestination


def test_create_update_unchanged_delete_and_lookup_after_losing_state(
        wp: SandboxHandle) -> None:
    rec = Recorder()

    async def main() -> None:
        async with dest(wp, transport=rec, create_missing_categories=True,
                        create_missing_tags=True) as d:
            assert await d.find_by_skus(["H-1"]) == {}
            results = await d.write([post(1, categories=[{"name": "Spa"}],
                                          tags=[{"name": "sea"}]), post(2)])
            assert [r.status for r in results] == ["created", "created"], results
            assert all(r.product_id and not r.warnings for r in results)
            found = await d.find_by_skus(["h-1", "H-2", "H-3"])  # from the cache
            assert set(found) == {"h-1", "h-2"}
            upd = await d.write([WriteOp("update", "H-1", {"title": "Renamed"})])
            assert upd[0].status == "updated" and upd[0].product_id == results[0].product_id
        # a new instance (the ledger was lost) finds the posts by their _ef_sku meta
        async with dest(wp) as d2:
            found = await d2.find_by_skus(["H-1", "H-2"])
            assert found["h-1"].id == results[0].product_id
            assert found["h-1"].meta["_elementa_feed_connection_id"] == "c1"
            assert await d2.write([]) == []  # unchanged: nothing to write
            gone = await d2.write([WriteOp("delete", "H-2", None)])
            assert gone[0].status == "deleted"
            assert [p.sku async for p in d2.iter_products()] == ["H-1"]

    run(main())
    posts = {p["id"]: p for p in wp.posts()}
    assert len(posts) == 1
    only = next(iter(posts.values()))
    assert only["title"]["raw"] == "Renamed" and only["meta"]["_ef_sku"] == "H-1"
    assert only["categories"] and only["tags"]
    assert rec.batches == [2, 1]  # the create and the update travelled through /batch/v1


def test_non_batch_site_writes_one_request_a_post(wp: SandboxHandle) -> None:
    wp.configure(batch_v1=False)
    rec = Recorder()

    async def main() -> list:
        async with dest(wp, transport=rec) as d:
            return await d.write([post(n) for n in range(5)])

    results = run(main())
    assert [r.status for r in results] == ["created"] * 5
    assert rec.batches == [] and len(rec.writes) == 5
    assert len(wp.posts()) == 5


def test_more_than_25_writes_split_into_batches(wp: SandboxHandle) -> None:
    rec = Recorder()

    async def main() -> list:
        async with dest(wp, transport=rec) as d:
            return await d.write([post(n) for n in range(30)])

    results = run(main())
    assert all(r.status == "created" for r in results)
    assert rec.batches == [25, 5]


def test_unregistered_meta_is_reported_as_a_warning(wp: SandboxHandle) -> None:
    async def main() -> list:
        async with dest(wp) as d:
            return await d.write([post(1, meta={"hotel_city": "Rome"})])

    [result] = run(main())
    assert result.status == "created"
    assert any("hotel_city" in w for w in result.warnings), result


def test_featured_image_url_is_reported_not_lost(wp: SandboxHandle) -> None:
    async def main() -> list:
        async with dest(wp) as d:
            return await d.write([post(1, featured_media_url="http://img.invalid/a.jpg")])

    [result] = run(main())
    assert result.status == "created" and any("featured" in w for w in result.warnings)


def test_invalid_meta_type_create_finds_the_post_it_left_behind(wp: SandboxHandle) -> None:
    async def main() -> list:
        async with dest(wp) as d:
            results = await d.write([post(1, meta={"_elementa_last_seen_timestamp": "soon"})])
            again = await d.find_by_skus(["H-1"])
            return [results, again]

    [[result], again] = run(main())
    assert result.status == "failed" and result.code == "rest_invalid_type"
    assert result.product_id is not None and again["h-1"].id == result.product_id
    assert len(wp.posts()) == 1


@pytest.mark.parametrize("batch", [True, False])
def test_invalid_param_is_a_failed_result(wp: SandboxHandle, batch: bool) -> None:
    wp.configure(batch_v1=batch)

    async def main() -> list:
        async with dest(wp) as d:
            return await d.write([post(1, status="bogus"), post(2)])

    results = run(main())
    assert results[0].status == "failed" and results[0].code == "rest_invalid_param"
    assert results[1].status == "created"


def test_unknown_category_fails_unless_creation_is_asked(wp: SandboxHandle) -> None:
    async def main() -> list:
        async with dest(wp) as d:
            return await d.write([post(1, categories=[{"name": "Nowhere"}])])

    [result] = run(main())
    assert result.status == "failed" and result.code == "unknown_category"
    assert wp.posts() == []


def test_existing_term_is_reused(wp: SandboxHandle) -> None:
    async def main() -> tuple[int, int]:
        async with dest(wp, create_missing_tags=True) as d:
            first = await d._terms.create("tags", "beach")
            second = await d._terms.create("tags", "beach")  # term_exists → data.term_id
            return first, second

    first, second = run(main())
    assert first == second


def test_paging_past_the_end_is_the_end(wp: SandboxHandle) -> None:
    async def main() -> list:
        async with dest(wp) as d:
            await d.write([post(n) for n in range(3)])
            return [p.sku async for p in d.iter_products(per_page=3)]

    assert run(main()) == ["H-0", "H-1", "H-2"]


def test_wrong_password_is_a_site_error_with_a_hint(
        wp: SandboxHandle, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASS_ENV, "wrong wrong wrong")

    async def main() -> None:
        async with dest(wp) as d:
            report = await d.check()
            assert report["reachable"] and not report["auth_ok"]
            await d.write([post(1)])

    with pytest.raises(SiteError) as info:
        run(main())
    assert info.value.status == 401 and "application_password" in (info.value.hint or "")


@pytest.mark.parametrize("batch", [True, False])
def test_read_only_user_gets_403_with_a_hint(wp: SandboxHandle, batch: bool,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    wp.configure(batch_v1=batch)
    monkeypatch.setenv(USER_ENV, "sandbox_reader")

    async def main() -> None:
        async with dest(wp) as d:
            await d.write([post(1)])

    with pytest.raises(SiteError) as info:
        run(main())
    assert info.value.status == 403 and info.value.code == "rest_cannot_create"
    assert "capability" in (info.value.hint or "")
    assert wp.posts() == []


def test_check_reports_ok_and_writes_nothing(wp: SandboxHandle) -> None:
    async def main() -> dict:
        async with dest(wp) as d:
            return await d.check()

    report = run(main())
    assert report["reachable"] and report["auth_ok"] and report["can_write"], report
    assert wp.posts() == []


def test_custom_post_type(wp: SandboxHandle) -> None:
    wp.configure(post_types=["hotel:hotels"])

    async def main() -> list:
        async with dest(wp, post_type="hotels") as d:
            await d.write([post(1)])
            return [p.sku async for p in d.iter_products()]

    assert run(main()) == ["H-1"]
    assert len(wp.posts("hotels")) == 1 and wp.posts("posts") == []


@pytest.mark.parametrize("batch", [True, False])
def test_a_create_applied_but_answered_504_is_not_duplicated(wp: SandboxHandle,
                                                            batch: bool) -> None:
    wp.configure(batch_v1=batch)
    route = "*/batch/v1" if batch else "*/wp/v2/posts"
    wp.set_faults({"gateway_timeout_after": {"rate": 1, "times": 1, "methods": ["POST"],
                                             "routes": [route]}})

    async def main() -> list:
        async with dest(wp) as d:
            return await d.write([post(n) for n in range(3)])

    try:
        results = run(main())
    finally:
        wp.set_faults({}, seed=0)
    assert [r.status for r in results] == ["created"] * 3, results
    assert len(wp.posts()) == 3
    assert len({r.product_id for r in results}) == 3
