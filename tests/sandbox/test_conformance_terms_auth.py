"""Conformance with ../shared/wc-api.md over HTTP, WooCommerce part 2: terms (§5),
authentication (§6, §11), deletion (§7), errors (§8). Left-out behaviours are listed in
`test_conformance.py`."""

from __future__ import annotations

import time
from urllib.parse import urlencode

import httpx
import pytest
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA256
from sandbox_clients import OAuth1, wc_client

from elementafeeds.sandbox.testing import SandboxHandle


def make(wc: httpx.Client, **fields: object) -> dict:
    response = wc.post("/products", json={"name": "Thing", "regular_price": "9.90", **fields})
    assert response.status_code == 201, response.text
    return response.json()


def error_of(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["code"]


# --- §5 categories, attributes, terms -------------------------------------------------------


def test_category_duplicate_name_same_parent_is_term_exists(wc: httpx.Client) -> None:
    """§5: same name (any case) under the same parent → 400 term_exists with resource_id;
    under another parent it is allowed."""
    shoes = wc.post("/products/categories", json={"name": "Shoes"}).json()
    r = wc.post("/products/categories", json={"name": "shoes"})
    assert r.status_code == 400 and r.json()["code"] == "term_exists"
    assert r.json()["data"] == {"status": 400, "resource_id": shoes["id"]}
    kids = wc.post("/products/categories", json={"name": "Shoes", "parent": shoes["id"]})
    assert kids.status_code == 201 and kids.json()["parent"] == shoes["id"]
    assert kids.json()["slug"] == "shoes-2"


def test_category_errors(wc: httpx.Client) -> None:
    """§5: name required; unknown id 404; delete needs force (501); default category 500."""
    assert error_of(wc.post("/products/categories", json={})) == (
        400, "rest_missing_callback_param")
    assert error_of(wc.get("/products/categories/99999")) == (404, "woocommerce_rest_term_invalid")
    c = wc.post("/products/categories", json={"name": "Tmp"}).json()
    assert error_of(wc.delete(f"/products/categories/{c['id']}")) == (
        501, "woocommerce_rest_trash_not_supported")
    assert wc.delete(f"/products/categories/{c['id']}", params={"force": "true"}).json()[
        "id"] == c["id"]
    assert error_of(wc.delete("/products/categories/15", params={"force": "true"})) == (
        500, "woocommerce_rest_cannot_delete")


def test_category_list_paging_search_parent_and_escaping(wc: httpx.Client,
                                                         site: SandboxHandle) -> None:
    """§5: list with paging headers, search and parent; names are stored HTML-escaped."""
    tree = site.seed_categories([{"name": "Home & Garden", "children": [
        {"name": f"Sub {i}"} for i in range(12)]}])
    r = wc.get("/products/categories", params={"parent": tree[0]["id"], "per_page": 5})
    assert r.headers["X-WP-Total"] == "12" and r.headers["X-WP-TotalPages"] == "3"
    assert wc.get("/products/categories", params={"search": "garden"}).json()[0]["name"] == (
        "Home &amp; Garden")
    assert wc.get("/products/categories", params={"page": 50}).json() == []


def test_categories_batch(wc: httpx.Client) -> None:
    """§1/§5: the same batch code serves `products/categories/batch`."""
    body = wc.post("/products/categories/batch", json={
        "create": [{"name": "A"}, {"name": "a"}]}).json()["create"]
    assert body[0]["name"] == "A" and body[1]["error"]["code"] == "term_exists"


def test_attributes_and_their_terms(wc: httpx.Client) -> None:
    """§5: attributes listed whole (one page); duplicate slug → woocommerce_rest_cannot_create;
    unknown id → 404; delete needs force; terms under a bad attribute id → 404."""
    size = wc.post("/products/attributes", json={"name": "Size"})
    assert size.status_code == 201 and size.json()["slug"] == "pa_size"
    dup = wc.post("/products/attributes", json={"name": "size"})
    assert error_of(dup) == (400, "woocommerce_rest_cannot_create")
    listing = wc.get("/products/attributes")
    assert listing.headers["X-WP-TotalPages"] == "1" and len(listing.json()) == 1
    assert error_of(wc.get("/products/attributes/777")) == (
        404, "woocommerce_rest_attribute_invalid")
    attr_id = size.json()["id"]
    term = wc.post(f"/products/attributes/{attr_id}/terms", json={"name": "XL"})
    assert term.status_code == 201 and term.json()["slug"] == "xl"
    assert len(wc.get(f"/products/attributes/{attr_id}/terms").json()) == 1
    assert error_of(wc.get("/products/attributes/777/terms")) == (
        404, "woocommerce_rest_taxonomy_invalid")
    assert error_of(wc.delete(f"/products/attributes/{attr_id}")) == (
        501, "woocommerce_rest_trash_not_supported")
    assert wc.delete(f"/products/attributes/{attr_id}", params={"force": 1}).status_code == 200


# --- §6 / §11 authentication ---------------------------------------------------------------


def test_oauth1_hmac_sha1_and_sha256_are_accepted(site: SandboxHandle) -> None:
    """§6/§11: OAuth 1.0a one-legged, HMAC-SHA1 or HMAC-SHA256, query-string signature."""
    for method in ("HMAC-SHA1", SIGNATURE_HMAC_SHA256):
        auth = OAuth1(site.key, site.secret, method)
        r = httpx.get(site.wc_url("/products"), auth=auth)
        assert r.status_code == 200, r.text


def test_basic_and_query_keys_are_ignored_over_http(site: SandboxHandle) -> None:
    """§6/§11: over plain http Basic and ?consumer_key= run as anonymous → 401
    `woocommerce_rest_cannot_view`."""
    basic = httpx.get(site.wc_url("/products"), auth=(site.key, site.secret))
    query = httpx.get(site.wc_url("/products"),
                      params={"consumer_key": site.key, "consumer_secret": site.secret})
    for r in (basic, query):
        assert error_of(r) == (401, "woocommerce_rest_cannot_view")
        assert r.json()["message"] == "Sorry, you cannot list resources."


def test_lenient_auth_accepts_basic_and_query_and_checks_the_secret(
        site: SandboxHandle) -> None:
    """§6/§11 (as over https): Basic and query keys work; a wrong secret is 401
    "Consumer secret is invalid." with the WWW-Authenticate realm."""
    site.configure(lenient_auth=True)
    assert httpx.get(site.wc_url("/products"), auth=(site.key, site.secret)).status_code == 200
    assert httpx.get(site.wc_url("/products"), params={
        "consumer_key": site.key, "consumer_secret": site.secret}).status_code == 200
    bad = httpx.get(site.wc_url("/products"), auth=(site.key, "wrong"))
    assert error_of(bad) == (401, "woocommerce_rest_authentication_error")
    assert bad.json()["message"] == "Consumer secret is invalid."
    assert "WooCommerce API" in bad.headers["WWW-Authenticate"]


def test_oauth_failures_have_the_real_messages(site: SandboxHandle) -> None:
    """§6: wrong secret (signature mismatch), unknown key, bad method, missing parameters."""
    cases = [
        (OAuth1(site.key, "wrong"), "Invalid signature - provided signature does not match."),
        (OAuth1("ck_unknown", site.secret), "Consumer key is invalid."),
        (OAuth1(site.key, site.secret, "PLAINTEXT"),
         "Invalid signature - signature method is invalid."),
    ]
    for auth, message in cases:
        r = httpx.get(site.wc_url("/products"), auth=auth)
        assert error_of(r) == (401, "woocommerce_rest_authentication_error")
        assert r.json()["message"] == message
    partial = httpx.get(site.wc_url("/products"), params={"oauth_consumer_key": site.key})
    assert error_of(partial) == (401, "woocommerce_rest_authentication_missing_parameter")


def _signed_url(site: SandboxHandle, timestamp: int, nonce: str, host: str | None = None) -> str:
    from oauthlib.oauth1 import SIGNATURE_TYPE_QUERY, Client

    client = Client(site.key, client_secret=site.secret, signature_type=SIGNATURE_TYPE_QUERY,
                    timestamp=str(timestamp), nonce=nonce)
    url = site.wc_url("/products")
    if host:
        url = url.replace("127.0.0.1", host)
    uri, _, _ = client.sign(url, http_method="GET")
    return uri.replace(host, "127.0.0.1") if host else uri


def test_timestamp_window_and_single_use_nonce(site: SandboxHandle) -> None:
    """§6/§10: timestamps within ±15 min; a nonce may not be used twice."""
    now = int(time.time())
    assert httpx.get(_signed_url(site, now - 3600, "n1")).json()["message"] == (
        "Invalid timestamp.")
    url = _signed_url(site, now, "n2")
    assert httpx.get(url).status_code == 200
    replay = httpx.get(url)
    assert replay.json()["message"] == "Invalid nonce - nonce has already been used."


def test_signature_covers_the_home_url(site: SandboxHandle) -> None:
    """§11: the URL signed must be the site's URL as it sees it (host and port)."""
    url = _signed_url(site, int(time.time()), "n3", host="localhost")
    assert httpx.get(url).json()["code"] == "woocommerce_rest_authentication_error"


def test_oauth_parameters_in_the_authorization_header(site: SandboxHandle) -> None:
    """§6: the oauth_* parameters may come in an `Authorization: OAuth` header."""
    from oauthlib.oauth1 import SIGNATURE_TYPE_AUTH_HEADER, Client

    client = Client(site.key, client_secret=site.secret,
                    signature_type=SIGNATURE_TYPE_AUTH_HEADER)
    uri, headers, _ = client.sign(site.wc_url("/products") + "?per_page=5", http_method="GET")
    assert httpx.get(uri, headers=headers).status_code == 200


def test_key_scope_and_wordpress_users_on_wc_routes(site: SandboxHandle) -> None:
    """§6: a read-only key cannot write (401); a logged-in user without the capability gets
    403; an anonymous GET of a missing product is 404, not 401."""
    site.configure(key_permissions="read")
    with wc_client(site) as wc:
        assert wc.get("/products").status_code == 200
        r = wc.post("/products", json={"name": "x"})
        assert r.json()["message"] == "The API key provided does not have write permissions."
    reader = httpx.get(site.wc_url("/products"), auth=("sandbox_reader", site.wp_password))
    assert error_of(reader) == (403, "woocommerce_rest_cannot_view")
    assert httpx.get(site.wc_url("/products/31337")).status_code == 404


# --- §7 deletion ----------------------------------------------------------------------------


def test_delete_trashes_then_410_and_force_removes(wc: httpx.Client) -> None:
    """§7: default trash, answer shows the status before; GET still works; 410 the second
    time; force=true deletes for good."""
    p = make(wc, status="draft")
    r = wc.delete(f"/products/{p['id']}")
    assert r.status_code == 200 and r.json()["status"] == "draft"
    assert wc.get(f"/products/{p['id']}").json()["status"] == "trash"
    assert error_of(wc.delete(f"/products/{p['id']}")) == (410, "woocommerce_rest_already_trashed")
    assert wc.delete(f"/products/{p['id']}", params={"force": "true"}).status_code == 200
    assert wc.get(f"/products/{p['id']}").status_code == 404


# --- §8 errors and misc ----------------------------------------------------------------------


def test_unknown_route_and_malformed_json(wc: httpx.Client) -> None:
    """§8: `rest_no_route` 404 (also for a method the route lacks); `rest_invalid_json`."""
    assert error_of(wc.get("/nothing-here")) == (404, "rest_no_route")
    assert error_of(wc.delete("/products")) == (404, "rest_no_route")
    r = wc.post("/products", content=b"{not json", headers={"content-type": "application/json"})
    assert error_of(r) == (400, "rest_invalid_json")


def test_rest_route_query_form_and_method_override(site: SandboxHandle) -> None:
    """§8: `?rest_route=/wc/v3/...` works like the pretty URL; POST with `_method=PUT`."""
    auth = OAuth1(site.key, site.secret)
    made = httpx.post(f"{site.url}/?{urlencode({'rest_route': '/wc/v3/products'})}",
                      json={"name": "via rest_route"}, auth=auth)
    assert made.status_code == 201
    pid = made.json()["id"]
    r = httpx.post(site.wc_url(f"/products/{pid}"), params={"_method": "PUT"},
                   json={"name": "put"}, auth=auth)
    assert r.status_code == 200 and r.json()["name"] == "put"


def test_system_status_reports_versions(wc: httpx.Client, anon: httpx.Client) -> None:
    """Issue 3 (`ef check`): versions of the observed store (§11)."""
    env = wc.get("/system_status").json()["environment"]
    assert (env["version"], env["wp_version"]) == ("10.0.2", "6.8.3")
    assert anon.get("/wc/v3/system_status").status_code == 401


def test_batch_of_100_creates_is_fast(wc: httpx.Client) -> None:
    """Performance target of issue 3: one transaction per request."""
    started = time.perf_counter()
    r = wc.post("/products/batch", json={"create": [
        {"name": f"p{i}", "sku": f"F-{i}", "regular_price": "1.00",
         "categories": [{"id": 15}], "meta_data": [{"key": "_ef", "value": "x"}]}
        for i in range(100)]})
    assert r.status_code == 200 and all("id" in p and p["id"] for p in r.json()["create"])
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize("orderby", ["date", "title", "price", "modified", "slug"])
def test_every_documented_orderby_is_accepted(wc: httpx.Client, orderby: str) -> None:
    """§3: the orderby enum."""
    make(wc)
    assert wc.get("/products", params={"orderby": orderby, "order": "asc"}).status_code == 200
