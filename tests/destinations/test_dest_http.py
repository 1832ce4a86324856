"""Answer classification at the HTTP boundary, with an injected MockTransport (no server)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest
from dest_helpers import FAST, KEY_ENV, SECRET_ENV, make_gate, make_site

from elementafeeds.destinations.http import AmbiguousSiteError, Scrubber, safe_url
from elementafeeds.destinations.woocommerce.client import WooClient
from elementafeeds.errors import RetriableSiteError, SiteError

Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture(autouse=True)
def _keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "ck_unit")
    monkeypatch.setenv(SECRET_ENV, "cs_unit_secret")


def _get(handler: Handler, url: str = "http://shop.test", **site_kw: object) -> object:
    async def main() -> object:
        site = make_site(url, **site_kw)
        client = WooClient(site, make_gate(site), transport=httpx.MockTransport(handler),
                           retry=FAST)
        await client.open()
        try:
            data, _ = await client.send("GET", "products", params={"per_page": 1})
            return data
        finally:
            await client.close()

    return asyncio.run(main())


def _raises(handler: Handler, **kw: object) -> SiteError:
    with pytest.raises(SiteError) as info:
        _get(handler, **kw)
    return info.value


def test_429_is_retriable_not_ambiguous_and_carries_retry_after() -> None:
    exc = _raises(lambda r: httpx.Response(429, headers={"Retry-After": "7"}, text="<html>"))
    assert type(exc) is RetriableSiteError
    assert exc.retry_after == 7 and exc.status == 429


def test_500_html_page_is_ambiguous_and_its_html_is_not_in_the_message() -> None:
    page = "<html><p>There has been a critical error on this website.</p></html>"
    exc = _raises(lambda r: httpx.Response(500, text=page))
    assert isinstance(exc, AmbiguousSiteError)
    assert "<p>" not in str(exc) and "500" in str(exc)


def test_200_with_an_html_body_is_ambiguous() -> None:
    exc = _raises(lambda r: httpx.Response(200, text="<!DOCTYPE html><html></html>"))
    assert isinstance(exc, AmbiguousSiteError) and exc.code == "invalid_json"


def test_401_cannot_view_over_plain_http_with_basic_says_use_oauth1() -> None:
    body = {"code": "woocommerce_rest_cannot_view", "message": "Sorry, you cannot list "
            "resources.", "data": {"status": 401}}
    exc = _raises(lambda r: httpx.Response(401, json=body), auth="basic")
    assert type(exc) is SiteError and exc.code == "woocommerce_rest_cannot_view"
    assert "auth: oauth1" in (exc.hint or "")
    assert exc.exit_code == 4


def test_401_wrong_secret_names_the_credentials() -> None:
    body = {"code": "woocommerce_rest_authentication_error",
            "message": "Consumer secret is invalid.", "data": {"status": 401}}
    exc = _raises(lambda r: httpx.Response(401, json=body))
    assert "Consumer secret is invalid." in str(exc)
    assert "consumer_key/consumer_secret" in (exc.hint or "")


def test_403_hints_at_the_users_capability() -> None:
    body = {"code": "woocommerce_rest_cannot_view", "message": "no", "data": {"status": 403}}
    exc = _raises(lambda r: httpx.Response(403, json=body), url="https://shop.test")
    assert exc.status == 403 and "Shop manager" in (exc.hint or "")


def test_404_no_route_hints_at_permalinks() -> None:
    body = {"code": "rest_no_route", "message": "No route", "data": {"status": 404}}
    exc = _raises(lambda r: httpx.Response(404, json=body))
    assert type(exc) is SiteError and "permalinks" in (exc.hint or "")


def test_redirect_is_reported_not_followed_and_the_location_is_scrubbed() -> None:
    exc = _raises(lambda r: httpx.Response(
        301, headers={"Location": "https://www.shop.test/x?consumer_secret=cs_unit_secret"}))
    assert type(exc) is SiteError and "www.shop.test" in str(exc)
    assert "cs_unit_secret" not in str(exc)


def test_connect_error_is_retriable_but_not_ambiguous() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    exc = _raises(refuse)
    assert type(exc) is RetriableSiteError and exc.code == "connect_error"


@pytest.mark.parametrize("error", [httpx.ReadTimeout, httpx.RemoteProtocolError])
def test_timeouts_and_dropped_connections_are_ambiguous(error: type[Exception]) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise error("boom", request=request)

    exc = _raises(fail)
    assert isinstance(exc, AmbiguousSiteError)
    assert "http://" not in str(exc)  # never the URL: it carries the signature


def test_reads_retry_5xx_and_stop_at_the_first_4xx() -> None:
    calls: list[int] = []
    answers = [503, 502, 200]

    def flaky(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        status = answers[len(calls) - 1]
        return httpx.Response(status, json=[] if status == 200 else {"code": "x"})

    async def main() -> None:
        site = make_site("http://shop.test")
        client = WooClient(site, make_gate(site), transport=httpx.MockTransport(flaky),
                           retry=FAST)
        await client.open()
        assert await client.get("products") is not None
        await client.close()

    asyncio.run(main())
    assert len(calls) == 3

    calls.clear()
    answers[:] = [400, 200]
    with pytest.raises(SiteError):
        asyncio.run(main())
    assert len(calls) == 1


def test_scrubber_and_safe_url_blank_keys_and_signatures() -> None:
    url = "http://x/wp-json/wc/v3/products?sku=a&oauth_signature=abc%3D&consumer_key=ck_1"
    assert safe_url(url) == ("http://x/wp-json/wc/v3/products?sku=a&oauth_signature=***"
                             "&consumer_key=***")
    assert Scrubber(["hunter22"])("pw hunter22 here") == "pw *** here"


def test_a_host_with_a_lower_batch_cap_gets_smaller_batches_instead_of_a_failed_run() -> None:
    import json

    from elementafeeds.destinations.base import WriteOp
    from elementafeeds.destinations.woocommerce import WooCommerceDestination

    sizes: list[int] = []

    def capped(request: httpx.Request) -> httpx.Response:
        creates = json.loads(request.content)["create"]
        sizes.append(len(creates))
        if len(creates) > 3:
            return httpx.Response(413, json={
                "code": "woocommerce_rest_request_entity_too_large",
                "message": "Unable to accept more than 3 items for this request.",
                "data": {"status": 413}})
        return httpx.Response(200, json={"create": [{"id": 100 + len(sizes) * 10 + i,
                                                     "sku": c["sku"]}
                                                    for i, c in enumerate(creates)]})

    async def main() -> list:
        site = make_site("http://shop.test", limits={"batch_size": 10})
        async with WooCommerceDestination(site, make_gate(site), retry=FAST,
                                          transport=httpx.MockTransport(capped)) as dest:
            return await dest.write([WriteOp("create", f"S{i}", {"name": "x"})
                                     for i in range(10)])

    results = asyncio.run(main())
    assert [r.status for r in results] == ["created"] * 10
    assert sizes[0] == 10 and sum(1 for s in sizes if s > 3) <= 3  # 10, then 5 and 5
