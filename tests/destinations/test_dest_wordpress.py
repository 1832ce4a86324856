"""The WordPress destination against the sandbox's WordPress side over HTTP."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from dest_helpers import FAST, make_gate

from elementafeeds.config.models import Site
from elementafeeds.destinations.base import WriteOp
from elementafeeds.destinations.registry import destination_class
from elementafeeds.destinations.wordpress import WordPressDestination
from elementafeeds.destinations.wordpress.media import MAX_IMAGE_BYTES
from elementafeeds.errors import SiteError
from elementafeeds.sandbox.testing import SandboxHandle
from tests.image_host import CountingImageHost

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


def dest(sb: SandboxHandle, limits: dict[str, Any] | None = None,
         **kw: Any) -> WordPressDestination:
    site = Site.model_validate({
        "kind": "site", "name": "blog", "url": sb.url, "platform": "wordpress",
        "credentials": {"username": "${" + USER_ENV + "}",
                        "application_password": "${" + PASS_ENV + "}"},
        "limits": {"batch_size": 10, "concurrency": 4, "timeout_s": 5, **(limits or {})},
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


def _write(sb: SandboxHandle, ops: list[WriteOp], **kw: Any) -> list:
    async def main() -> list:
        async with dest(sb, **kw) as d:
            return await d.write(ops)

    return run(main())


def _media_posts(sb: SandboxHandle) -> int:
    return sb.request_counts()["by_route"].get("/wp-json/wp/v2/media", {}).get("POST", 0)


def test_featured_image_is_uploaded_once_per_url_and_set(wp: SandboxHandle) -> None:
    """The client downloads the image (the host refuses requests carrying credentials),
    uploads it to /wp/v2/media and sets featured_media; a URL shared by posts goes once."""
    shared, own = wp.image_url("Beach View.jpg"), wp.image_url("pool.png")
    results = _write(wp, [post(1, featured_media_url=shared), post(2, featured_media_url=shared),
                          post(3, featured_media_url=own)])
    assert [r.status for r in results] == ["created"] * 3 and not any(r.warnings
                                                                       for r in results)
    media = {m["id"]: m for m in wp.media()}
    assert len(media) == 2 and _media_posts(wp) == 2
    featured = {p["meta"]["_ef_sku"]: p["featured_media"] for p in wp.posts()}
    assert featured["H-1"] == featured["H-2"] != featured["H-3"]
    assert media[featured["H-1"]]["source_url"].endswith("/Beach-View.jpg")
    assert (media[featured["H-3"]]["mime_type"], media[featured["H-3"]]["media_type"]) == (
        "image/png", "image")


@pytest.mark.parametrize("refusal", ["no_upload_files", "route_hidden"])
def test_a_site_refusing_uploads_gets_the_post_without_image_and_a_warning(
        wp: SandboxHandle, refusal: str) -> None:
    if refusal == "no_upload_files":  # a Contributor: may write posts, not upload files
        wp.configure(wp_users=[{"username": wp.wp_user, "password": wp.wp_password,
                                "upload_files": False}])
    else:
        wp.configure(media_uploads=False)
    urls = [wp.image_url("a.jpg"), wp.image_url("b.jpg")]
    results = _write(wp, [post(1, featured_media_url=urls[0]),
                          post(2, featured_media_url=urls[1])])
    assert [r.status for r in results] == ["created"] * 2
    for result, url in zip(results, urls, strict=True):
        assert any(url in w and "refuses media uploads" in w for w in result.warnings), result
    assert [p["featured_media"] for p in wp.posts()] == [0, 0] and wp.media() == []
    assert _media_posts(wp) == 1  # refused once: not asked again in this run


@pytest.mark.parametrize("variant, reason", [
    ("status=404", "answered 404"),
    ("type=text/html", "not an image"),
    ("type=image/svg+xml", "can carry scripts"),
    (f"size={MAX_IMAGE_BYTES + 1}", "larger than"),
    ("port 1", "ConnectError"),
    ("ftp", "not an http(s) URL"),
])
def test_an_image_that_cannot_be_downloaded_leaves_the_post_without_it(
        wp: SandboxHandle, variant: str, reason: str) -> None:
    if variant == "port 1":
        url = "http://127.0.0.1:1/nothing-listens-here.jpg"
    elif variant == "ftp":
        url = wp.image_url("a.jpg").replace("http://", "ftp://")
    else:
        key, value = variant.split("=")
        url = wp.image_url("a.jpg", **{key: value})
    [result] = _write(wp, [post(1, featured_media_url=url)])
    assert result.status == "created", result
    assert any(url in w and reason in w for w in result.warnings), result.warnings
    assert [p["featured_media"] for p in wp.posts()] == [0] and _media_posts(wp) == 0


def test_an_update_sets_a_new_featured_image(wp: SandboxHandle) -> None:
    [created] = _write(wp, [post(1)])
    url = wp.image_url("new.webp")
    [updated] = _write(wp, [WriteOp("update", "H-1", {"featured_media_url": url},
                                    created.product_id)])
    assert updated.status == "updated" and not updated.warnings
    [only] = wp.posts()
    assert only["featured_media"] == wp.media()[0]["id"]


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


@pytest.mark.parametrize("fault", [
    {"gateway_timeout_after": {"rate": 1}},
    {"hang_after_apply": {"rate": 1, "seconds": 1.0}},
], ids=lambda f: next(iter(f)))
def test_a_batch_that_keeps_losing_answers_is_split_in_halves(wp: SandboxHandle,
                                                               fault: dict[str, Any]) -> None:
    """/batch/v1 applies every request and loses every answer: creates are verified by
    `_ef_sku` (each post exactly once), updates keep going and the batch is split in halves
    down to single posts, which take the post route."""
    first = _write(wp, [post(n) for n in range(6)])
    ids = {r.sku: r.product_id for r in first}
    ops = []
    for n in range(6):  # an update of an existing post, then a new post, alternating
        ops.append(WriteOp("update", f"H-{n}", {"title": f"Renamed {n}"}, ids[f"H-{n}"]))
        ops.append(post(10 + n))
    wp.set_faults({name: {**spec, "methods": ["POST"], "routes": ["*/batch/v1"]}
                   for name, spec in fault.items()})
    rec = Recorder()
    try:
        results = _write(wp, ops, transport=rec, limits={"timeout_s": 0.3})
        fired = wp.request_counts()["faults"]
    finally:
        wp.set_faults({}, seed=0)
    assert [r.status for r in results] == ["updated", "created"] * 6, results
    assert fired.get(next(iter(fault)), 0) >= 4
    assert rec.batches[:2] == [12, 6]  # all, then the updates (the creates were found)
    assert sorted(set(rec.batches)) == [2, 3, 6, 12]  # halves of halves; singles go alone
    assert len([w for w in rec.writes if "/wp/v2/posts/" in w]) == 6  # singles: post route
    skus = Counter(p["meta"]["_ef_sku"] for p in wp.posts())
    assert set(skus) == {f"H-{n}" for n in (*range(6), *range(10, 16))}
    assert max(skus.values()) == 1, skus
    assert {p["title"]["raw"] for p in wp.posts() if p["id"] in ids.values()} == {
        f"Renamed {n}" for n in range(6)}


def _images_for(site_url: str, url: str) -> tuple[int | None, str | None]:
    from elementafeeds.destinations.wordpress.media import FeaturedImages

    async def go() -> tuple[int | None, str | None]:
        images = FeaturedImages(None, site_url=site_url)  # type: ignore[arg-type]
        try:
            return await images.media_id(url)
        finally:
            await images.close()

    return asyncio.run(go())


def test_a_feed_cannot_make_ef_fetch_from_its_own_network() -> None:
    """A site on a public address: image URLs (and redirects) to loopback, private or
    link-local hosts are refused before any request is made."""
    host = CountingImageHost()
    try:
        media, warning = _images_for("https://8.8.8.8", host.url)
        assert media is None and "non-public address (127.0.0.1, loopback)" in (warning or "")
        media, warning = _images_for("https://8.8.8.8", "http://169.254.169.254/x.png")
        assert media is None and "non-public address" in (warning or "")
        # an intranet site may use intranet images, but not loopback or cloud metadata
        media, warning = _images_for("http://10.1.2.3", host.url)
        assert media is None and "loopback" in (warning or "")
        media, warning = _images_for("http://10.1.2.3", "http://169.254.169.254/x.png")
        assert media is None and "link-local" in (warning or "")
        assert host.hits == 0
    finally:
        host.close()


def test_a_redirect_is_checked_like_the_url_it_came_from(wp: SandboxHandle) -> None:
    """Redirects are followed by hand, each hop checked; on a private site all hosts pass."""
    target = CountingImageHost()
    hop = CountingImageHost(redirect=target.url)
    try:
        [result] = _write(wp, [post(1, featured_media_url=hop.url)])
        assert result.status == "created" and not result.warnings, result
        assert (hop.hits, target.hits) == (1, 1) and len(wp.media()) == 1
        loop = CountingImageHost(redirect="/img.png")  # redirects to itself, forever
        try:
            [looping] = _write(wp, [post(2, featured_media_url=loop.url)])
            assert any("more than 5 redirects" in w for w in looping.warnings), looping
            assert loop.hits == 6
        finally:
            loop.close()
    finally:
        hop.close()
        target.close()
