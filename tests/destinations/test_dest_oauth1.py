"""The OAuth 1.0a signer and the SKU lookup chunking, as pure functions."""

from __future__ import annotations

from elementafeeds.destinations import oauth1
from elementafeeds.destinations.woocommerce.destination import _sku_chunks

URL = "http://127.0.0.1:8000/wp-json/wc/v3/products"


def test_signature_matches_an_independent_rfc5849_implementation() -> None:
    # Vector computed with oauthlib (HMAC-SHA256, query style); the store's key is `secret&`.
    params = [("sku", "a,b c,d&e~x"), ("per_page", "100"), ("oauth_nonce", "n0nce"),
              ("oauth_timestamp", "1700000000"), ("oauth_version", "1.0"),
              ("oauth_signature_method", "HMAC-SHA256"), ("oauth_consumer_key", "ck_abc")]
    base = oauth1.base_string("GET", URL, params)
    assert base.startswith("GET&http%3A%2F%2F127.0.0.1%3A8000%2Fwp-json%2Fwc%2Fv3%2Fproducts&")
    assert "sku%3Da%252Cb%2520c%252Cd%2526e~x" in base  # values encoded twice, ~ kept
    assert oauth1.signature(base, "cs_secret") == "tpxYBw0+8II4mneZsV+ujyn7fNvAQ3Rpk2MBERuc+yI="


def test_sign_adds_fresh_oauth_parameters_with_the_signature_last() -> None:
    one = oauth1.sign("POST", URL, [], "ck", "cs")
    two = oauth1.sign("POST", URL, [], "ck", "cs")
    assert [k for k, _ in one] == ["oauth_consumer_key", "oauth_nonce", "oauth_signature_method",
                                   "oauth_timestamp", "oauth_signature"]
    assert dict(one)["oauth_nonce"] != dict(two)["oauth_nonce"]  # nonces are single-use


def test_sku_lookups_stay_under_100_skus_and_the_url_budget() -> None:
    chunks = _sku_chunks([f"S-{i}" for i in range(250)])
    assert [len(c) for c in chunks] == [100, 100, 50]
    long = ["x" * 1000 + str(i) for i in range(20)]
    assert all(sum(len(s) for s in c) <= 6000 for c in _sku_chunks(long))
    assert _sku_chunks(["a", "b,c", "d"]) == [["b,c"], ["a", "d"]]  # a comma SKU goes alone
