"""process_record end to end: verdicts, payload shapes (wc-api.md §4, §9), hashes,
update payloads, pickling to worker processes, and never raising on bad records."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rules_support import connection_yaml

from elementafeeds.rules import (
    FIELD_GROUPS,
    Outcome,
    process_record,
    process_records,
    update_payload,
)

HEMTEX = connection_yaml("""
    filters:
      match: all
      rules:
        - {field: in_stock, op: eq, value: "yes"}
        - {field: search_price, op: gt, value: 10}
    fields:
      description: {from: description, transform: [strip_html]}
      tags: {from: keywords, transform: [split]}
    categories:
      map:
        "Koti > Tekstiilit": [Kodintekstiilit]
        "Koti > Keittiö": [17]
      unmapped: skip
    attributes:
      - {name: Väri, from: colour}
      - {name: Koko, from: size, split: ","}
    update:
      fields: [regular_price, sale_price, images, meta.ean]
""", product_type="fashion", sku="hemtex-{merchant_product_id}")

RECORD = {
    "merchant_product_id": "M1", "product_name": "Kylpypyyhe", "brand_name": "Hemtex",
    "in_stock": "yes", "search_price": "12,99 €", "rrp_price": "19,99",
    "description": "<p>Pehmeä &amp; paksu</p><script>x()</script>",
    "product_short_description": "Pehmeä", "aw_deep_link": "https://www.awin1.com/pclick.php?p=1",
    "merchant_image_url": "https://img.example/1.jpg", "large_image": "https://img.example/1.jpg",
    "alternate_image": "https://img.example/2.jpg", "merchant_category":
    "Koti > Tekstiilit > Pyyhkeet", "colour": "Sininen", "size": "S, M,L", "ean": "6401234567890",
    "keywords": "pyyhe, kylpy, pyyhe",
}


@pytest.fixture
def hemtex(ruleset):
    return ruleset(HEMTEX)


def test_send_gives_a_woocommerce_external_product(hemtex):
    outcome = process_record(hemtex, RECORD, 7)
    assert (outcome.verdict, outcome.sku, outcome.record) == ("send", "hemtex-M1", 7)
    assert outcome.reason is None and outcome.code is None
    assert outcome.payload == {
        "type": "external", "name": "Kylpypyyhe", "status": "publish", "sku": "hemtex-M1",
        "regular_price": "19.99", "sale_price": "12.99",
        "external_url": "https://www.awin1.com/pclick.php?p=1", "button_text": "Osta nyt",
        "description": "Pehmeä & paksu", "short_description": "Pehmeä",
        "categories": [{"name": "Kodintekstiilit"}],
        "images": [{"src": "https://img.example/1.jpg"}, {"src": "https://img.example/2.jpg"}],
        "attributes": [
            {"name": "Väri", "options": ["Sininen"], "visible": True},
            {"name": "Koko", "options": ["S", "M", "L"], "visible": True},
        ],
        "tags": [{"name": "pyyhe"}, {"name": "kylpy"}],
        "meta_data": [{"key": "brand", "value": "Hemtex"}, {"key": "ean",
                                                           "value": "6401234567890"}],
    }
    assert set(outcome.hashes) == {"core", "price", "categories", "attributes", "images"}


def test_payload_follows_the_current_api(hemtex):
    payload = process_record(hemtex, RECORD, 1).payload
    assert "product_url" not in payload and "id" not in payload
    assert all(isinstance(payload[k], str) for k in ("regular_price", "sale_price"))
    assert not any(k in payload for k in ("stock_status", "manage_stock", "stock_quantity"))
    assert not any(str(m["key"]).startswith("_elementa") for m in payload["meta_data"])
    json.dumps(payload)  # plain JSON


def test_filtered_names_the_rule(hemtex):
    outcome = process_record(hemtex, {**RECORD, "search_price": "9,90"}, 2)
    assert (outcome.verdict, outcome.reason, outcome.code) == (
        "filtered", "search_price gt 10", "filtered")
    assert outcome.sku == "hemtex-M1" and outcome.payload is None and outcome.hashes is None


def test_unmapped_category_is_skipped_with_the_path(hemtex):
    outcome = process_record(hemtex, {**RECORD, "merchant_category": "Lelut > Pelit"}, 3)
    assert (outcome.verdict, outcome.code) == ("skipped", "unmapped_category")
    assert outcome.reason == "unmapped category: Lelut > Pelit"


@pytest.mark.parametrize(("change", "code", "reason"), [
    ({"merchant_product_id": " "}, "missing_sku", "no SKU: field merchant_product_id is empty"),
    ({"product_name": ""}, "missing_field", "missing name"),
    ({"search_price": "11", "rrp_price": "0", "product_price_old": ""}, None, None),
    ({"aw_deep_link": ""}, "missing_field", "missing external_url"),
    ({"aw_deep_link": "javascript:alert(1)"}, "invalid_field",
     "external_url is not an http(s) link: 'javascript:alert(1)'"),
])
def test_failures_carry_code_and_reason(hemtex, change, code, reason):
    outcome = process_record(hemtex, {**RECORD, **change}, 4)
    if code is None:
        assert outcome.verdict == "send"
        assert (outcome.payload["regular_price"], outcome.payload["sale_price"]) == ("11.00", "")
    else:
        assert (outcome.verdict, outcome.code, outcome.reason) == ("failed", code, reason)


def test_missing_price_fails(ruleset):
    rules = ruleset(connection_yaml("""
        fields:
          regular_price: {from: price, transform: [price]}
          name: "{n}"
          external_url: "https://x.example/{id}"
    """, feed="plain-feed", sku="s-{id}"))
    assert process_record(rules, {"id": "1", "n": "A"}, 1).reason == (
        "missing price (regular_price)")
    assert process_record(rules, {"id": "1", "n": "A", "price": "free"}, 1).reason == (
        "missing price (regular_price)")


def test_transform_error_names_the_field(ruleset):
    rules = ruleset(connection_yaml("""
        fields:
          name: "{n}"
          regular_price: {from: p, transform: [{multiply: 2}]}
          external_url: "https://x.example/{id}"
    """, feed="plain-feed", sku="s-{id}"))
    outcome = process_record(rules, {"id": "1", "n": "A", "p": "abc"}, 9)
    assert (outcome.verdict, outcome.code) == ("failed", "transform_error")
    assert outcome.reason == "regular_price: multiply: 'abc' is not a number"


def test_wordpress_post_payload(ruleset):
    rules = ruleset(connection_yaml("""
        fields:
          tags: {from: keywords, transform: [split]}
          slug: {from: product_name, transform: [slug]}
          meta.ean: "{ean}"
    """, site="blog", product_type="listing"))
    outcome = process_record(rules, RECORD, 1)
    assert outcome.verdict == "send"
    assert outcome.payload == {
        "title": "Kylpypyyhe", "status": "publish", "content": "<p>Pehmeä &amp; paksu</p>",
        "excerpt": "Pehmeä", "slug": "kylpypyyhe", "categories": [],
        "tags": [{"name": "pyyhe"}, {"name": "kylpy"}],
        "meta": {"affiliate_url": "https://www.awin1.com/pclick.php?p=1", "brand": "Hemtex",
                 "ean": "6401234567890", "price": "12.99"},
        "featured_media_url": "https://img.example/1.jpg",
    }
    assert set(outcome.hashes) == {"core", "categories", "meta", "images"}
    assert rules.post_type == "posts"
    assert process_record(rules, {**RECORD, "product_name": ""}, 2).reason == "missing title"


def test_hotel_custom_post_type(ruleset):
    rules = ruleset(connection_yaml("", site="blog", product_type="hotel"))
    outcome = process_record(rules, {**RECORD, "Travel:destination_city": "Turku",
                                     "Travel:hotel_stars": "4 stars"}, 1)
    assert rules.post_type == "hotels"
    assert outcome.payload["meta"]["hotel_city"] == "Turku"
    assert outcome.payload["meta"]["hotel_stars"] == "4"
    assert "affiliate_url" not in outcome.payload["meta"]


def test_simple_product_sends_stock_fields(ruleset):
    rules = ruleset(connection_yaml("""
        fields:
          type: simple
          stock_status: {from: in_stock, transform: [bool]}
          stock_quantity: "{qty}"
    """))
    payload = process_record(rules, {**RECORD, "qty": "3"}, 1).payload
    assert payload["type"] == "simple"
    assert (payload["stock_status"], payload["stock_quantity"], payload["manage_stock"]) == (
        "instock", 3, True)
    assert "external_url" not in payload and "button_text" not in payload


def test_sanitising_keeps_formatting_and_drops_scripts(ruleset):
    rules = ruleset(connection_yaml("fields: {description: '{description}'}"))
    html = '<p onclick="x()">Hi <a href="https://m.example">m</a><iframe src=x></iframe></p>'
    description = process_record(rules, {**RECORD, "description": html}, 1).payload[
        "description"]
    assert description == ('<p>Hi <a href="https://m.example" rel="nofollow noopener">m</a>'
                           '</p>')
    raw = ruleset(connection_yaml("""
        fields: {description: '{description}'}
        content: {sanitize_html: false}
    """))
    assert process_record(raw, {**RECORD, "description": html}, 1).payload[
        "description"] == html
    narrow = ruleset(connection_yaml("""
        fields: {description: '{description}'}
        content: {allowed_tags: [b]}
    """))
    assert process_record(narrow, {**RECORD, "description": "<p><b>x</b></p>"}, 1).payload[
        "description"] == "<b>x</b>"


# hashes ---------------------------------------------------------------------------------------


def test_hashes_are_stable_and_only_the_changed_group_moves(hemtex):
    base = process_record(hemtex, RECORD, 1).hashes
    assert process_record(hemtex, dict(RECORD), 99).hashes == base
    changes = {
        "core": {"product_name": "Kylpypyyhe XL"},
        "price": {"search_price": "13,99"},
        "categories": {"merchant_category": "Koti > Keittiö"},
        "attributes": {"colour": "Punainen"},
        "images": {"alternate_image": "https://img.example/3.jpg"},
    }
    for group, change in changes.items():
        hashes = process_record(hemtex, {**RECORD, **change}, 1).hashes
        moved = {g for g in hashes if hashes[g] != base[g]}
        assert moved == {group}, group


def test_hashes_do_not_depend_on_the_process(hemtex):
    """Same payload, new interpreter with another hash seed: same digests."""
    outcome = process_record(hemtex, RECORD, 1)
    code = ("import json,sys; from elementafeeds.rules.hashing import payload_hashes; "
            "print(json.dumps(payload_hashes('woocommerce', json.load(sys.stdin))))")
    result = subprocess.run([sys.executable, "-c", code], input=json.dumps(outcome.payload),
                            capture_output=True, text=True, check=True,
                            env={"PYTHONHASHSEED": "12345", "PATH": ""})
    assert json.loads(result.stdout) == outcome.hashes


# update payloads ------------------------------------------------------------------------------


def test_update_payload_sends_changed_groups_limited_by_update_fields(hemtex):
    payload = process_record(hemtex, RECORD, 1).payload
    assert update_payload(hemtex, payload, {"price"}) == {
        "regular_price": "19.99", "sale_price": "12.99"}
    assert update_payload(hemtex, payload, {"core"}) == {
        "meta_data": [{"key": "ean", "value": "6401234567890"}]}
    assert update_payload(hemtex, payload, {"categories", "attributes"}) == {}
    assert update_payload(hemtex, payload, {"images"})["images"] == payload["images"]


def test_update_payload_all_fields_never_images_unless_changed(ruleset):
    rules = ruleset(connection_yaml(""))
    payload = process_record(rules, RECORD, 1).payload
    update = update_payload(rules, payload, {"core", "price", "categories"})
    assert "images" not in update and "attributes" not in update and "sku" not in update
    assert update["name"] == "Kylpypyyhe" and update["categories"] == []
    assert set(update_payload(rules, payload, set(FIELD_GROUPS))) == set(payload) - {"sku"}


def test_update_fields_accept_group_names(ruleset):
    rules = ruleset(connection_yaml("update: {fields: [price]}"))
    payload = process_record(rules, RECORD, 1).payload
    assert set(update_payload(rules, payload, {"price", "core"})) == {
        "regular_price", "sale_price"}


def test_field_groups_cover_both_platforms():
    assert FIELD_GROUPS["price"][:2] == ("regular_price", "sale_price")
    assert "title" in FIELD_GROUPS["core"] and "name" in FIELD_GROUPS["core"]
    assert FIELD_GROUPS["images"] == ("images", "featured_media_url")
    assert FIELD_GROUPS["meta"] == ("meta",)


# workers --------------------------------------------------------------------------------------


def test_ruleset_pickles_without_compiled_state_and_works_in_a_process_pool(hemtex):
    process_record(hemtex, RECORD, 1)  # compiles
    assert "_compiled" in hemtex.__dict__
    data = pickle.dumps(hemtex)
    assert b"_compiled" not in data
    expected = process_records(hemtex, [RECORD, {**RECORD, "in_stock": "no"}], 10)
    with ProcessPoolExecutor(max_workers=1) as pool:
        got = pool.submit(process_records, hemtex, [RECORD, {**RECORD, "in_stock": "no"}],
                          10).result()
    assert got == expected
    assert [o.record for o in got] == [10, 11]


def test_outcome_pickles():
    outcome = Outcome("failed", None, None, None, "why", "missing_sku", 3)
    assert pickle.loads(pickle.dumps(outcome)) == outcome


def test_process_records_restores_the_garbage_collector(hemtex):
    import gc

    assert gc.isenabled()
    process_records(hemtex, [RECORD], 1)
    assert gc.isenabled()


VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=3),
    max_leaves=8,
)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # the rules are immutable
@given(record=st.dictionaries(st.sampled_from(sorted(RECORD)) | st.text(max_size=8), VALUES,
                              max_size=12))
def test_property_process_record_never_raises(hemtex, record):
    outcome = process_record(hemtex, {**RECORD, **record}, 1)
    assert outcome.verdict in ("send", "filtered", "skipped", "failed")
    assert (outcome.payload is None) == (outcome.verdict != "send")
    if outcome.verdict != "send":
        assert outcome.reason and outcome.code
