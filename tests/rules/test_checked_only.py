"""A record that is only checked (a dry run's new product) gets the verdict, code and reason a
full mapping gives it, for any values — while the fields that cannot fail stay unmapped; and
check_records counts a chunk of them as process_record would."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from rules_support import connection_yaml

from elementafeeds.rules import check_records, process_record

COLUMNS = ["id", "name", "brand", "price", "old_price", "desc", "url", "img", "img2", "cat",
           "colour", "size", "stock", "qty", "ean", "kind", "weight"]

EVERY_SAFE_TRANSFORM = """
fields:
  name: "{brand} {name}"
  regular_price: {from: price, transform: [price]}
  sale_price: {from: old_price, transform: [trim, price]}
  description: {from: desc, transform: [strip_html, {truncate: 40}]}
  short_description: {from: desc, transform: [html_to_text, title, {replace: {from: a, to: b}}]}
  slug: {from: name, transform: [slug]}
  external_url: {from: url, transform: [trim, lower]}
  button_text: {from: colour, transform: [upper, {default: Osta}]}
  images: [{from: img, transform: [{split: "|"}]}, "{img2}"]
  tags: {from: [brand, colour], transform: [{join: ","}]}
  featured: {from: stock, transform: [bool]}
  weight: {from: weight, transform: [first_non_empty]}
  catalog_visibility: {from: kind, transform: [{map: {a: visible, "*": hidden}}]}
  meta.ean: "{ean}"
  meta.qty: {from: qty, transform: [price]}
categories:
  source: cat
  map: {"Koti": [Koti]}
  unmapped: skip
attributes:
  - {name: Colour, from: colour}
  - {name: Size, from: size, split: ","}
"""

FAILING_TRANSFORMS = """
fields:
  name: "{name}"
  regular_price: {from: price, transform: [price]}
  type: {from: kind, transform: [{map: {e: external, s: simple, "*": external}}]}
  external_url: "{url}"
  weight: {from: weight, transform: [{multiply: 2}]}
  meta.qty: {from: qty, transform: [{round: 0}]}
  meta.code: {from: ean, transform: [{regex_extract: {pattern: "(?P<d>[0-9]+)", group: e}}]}
  description: "{desc}"
"""

POST = """
fields:
  title: {from: name, transform: [trim]}
  content: {from: desc, transform: [strip_html]}
  excerpt: "{desc}"
  meta.price: {from: price, transform: [price]}
  featured_media_url: "{img}"
  tags: "{brand}"
"""

FILTERED = """
filters:
  match: any
  rules:
    - {field: stock, op: eq, value: "yes"}
    - all:
        - {field: price, op: gt, value: 1}
        - {field: brand, op: not_empty}
        - {field: colour, op: regex, value: "^[a-z]"}
fields:
  name: "{name}"
  regular_price: {from: price, transform: [price]}
  external_url: "{url}"
categories:
  source: cat
  map: {"Koti": [Koti]}
"""

TEXT = st.one_of(
    st.sampled_from(["", " ", "12,99", "0", "1e40", "-3", "NaN", "yes", "https://x.example/a",
                     "http://", "<p>a</p>", "Koti", "e", "s", "a", "12.50 EUR", "x|y", "١٢"]),
    st.text(max_size=12))
VALUE = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-10, 10**30), st.floats(), TEXT),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.sampled_from(["#text", "@a", "x"]), inner,
                                            max_size=2)),
    max_leaves=6)
RECORD = st.fixed_dictionaries({c: VALUE for c in COLUMNS}) | \
    st.fixed_dictionaries({c: TEXT for c in COLUMNS})


def _verdicts(rules, record: dict) -> tuple:
    full = process_record(rules, record, 1)
    checked = process_record(rules, record, 1, payload_for=())
    assert checked.payload is None and checked.hashes is None
    return ((full.verdict, full.sku, full.code, full.reason),
            (checked.verdict, checked.sku, checked.code, checked.reason))


def _counted(rules, records: list[dict]) -> list[tuple]:
    """What check_records makes of the records, as (verdict or "counted", sku, code, reason),
    in order, against the full mapping's verdicts."""
    checked = check_records(rules, records, 7)
    assert len(checked.skipped) == len(records)
    new = dict(zip(checked.new_at, checked.new))
    failed = {o.record - 7: o for o in checked.failed}
    assert not set(new) & set(failed) and not {i for i, b in enumerate(checked.skipped) if b} \
        & (set(new) | set(failed))
    out = []
    for i, _ in enumerate(records):
        if checked.skipped[i]:
            out.append(("counted",))
        elif i in new:
            out.append(("send", new[i]))
        else:
            o = failed[i]
            out.append((o.verdict, o.sku, o.code, o.reason))
    return out


def _as_counted(outcome) -> tuple:
    if outcome.verdict in ("filtered", "skipped"):
        return ("counted",)
    if outcome.verdict == "send":
        return ("send", outcome.sku)
    return (outcome.verdict, outcome.sku, outcome.code, outcome.reason)


def _check_all(rules) -> None:
    @settings(max_examples=400, deadline=None)
    @given(st.lists(RECORD, min_size=1, max_size=3))
    def same(records: list[dict]) -> None:
        for record in records:
            full, checked = _verdicts(rules, record)
            assert checked == full
        counted = _counted(rules, records)
        assert counted == [
            _as_counted(process_record(rules, r, 7 + i)) for i, r in enumerate(records)]
        # a reader may hand check_records only the columns checking reads
        only = rules.compiled.checked_columns
        assert only is not None and len(only) < len(COLUMNS)
        assert _counted(rules, [{k: v for k, v in r.items() if k in only}
                                for r in records]) == counted

    same()


def test_checked_only_equals_full_mapping_with_every_safe_transform(ruleset):
    rules = ruleset(connection_yaml(EVERY_SAFE_TRANSFORM, feed="plain-feed",
                                    product_type="external-product", sku="s-{id}"))
    deciding = [dest for dest, _ in rules.compiled.deciders]
    assert deciding == ["name", "regular_price", "external_url"]  # 12 fields left unmapped
    _check_all(rules)


def test_checked_only_maps_every_field_that_can_fail(ruleset):
    rules = ruleset(connection_yaml(FAILING_TRANSFORMS, feed="plain-feed",
                                    product_type="external-product", sku="s-{id}"))
    deciding = {dest for dest, _ in rules.compiled.deciders}
    assert deciding == {"name", "regular_price", "type", "external_url", "weight", "meta.qty",
                        "meta.code"}
    _check_all(rules)
    record = dict.fromkeys(COLUMNS, "x") | {"price": "5", "kind": "s"}
    full, checked = _verdicts(rules, record)
    assert checked == full and full[2] == "transform_error" and "weight" in full[3]


def test_checked_only_equals_full_mapping_for_wordpress_posts(ruleset):
    rules = ruleset(connection_yaml(POST, site="blog", feed="plain-feed", product_type="listing",
                                    sku="p-{id}"))
    assert "title" in [dest for dest, _ in rules.compiled.deciders]
    _check_all(rules)


def test_a_filtered_record_is_counted_as_process_record_sees_it(ruleset):
    """Nested filter groups and a SKU of two fields, over any values."""
    rules = ruleset(connection_yaml(FILTERED, feed="plain-feed",
                                    product_type="external-product", sku="s-{id}-{ean}"))
    _check_all(rules)


def test_huge_numbers_are_no_price_rather_than_a_failure(ruleset):
    rules = ruleset(connection_yaml(EVERY_SAFE_TRANSFORM, feed="plain-feed",
                                    product_type="external-product", sku="s-{id}"))
    record = dict.fromkeys(COLUMNS, "") | {
        "id": "1", "name": "n", "price": "5", "old_price": "1e40", "qty": "1e40",
        "url": "https://x.example/a", "cat": "Koti"}
    outcome = process_record(rules, record, 1)
    assert outcome.verdict == "send" and outcome.payload["sale_price"] == ""


def test_a_chunk_is_counted_as_process_record_sees_it(ruleset):
    rules = ruleset(connection_yaml(EVERY_SAFE_TRANSFORM, feed="plain-feed",
                                    product_type="external-product", sku="s-{id}"))
    good = dict.fromkeys(COLUMNS, "") | {"id": "1", "name": "n", "price": "5",
                                         "url": "https://x.example/a", "cat": "Koti"}
    records = [good, good | {"cat": "Lelut"}, good | {"id": ""}, good | {"id": "2"},
               good | {"price": "free"}]
    checked = check_records(rules, records, 11)
    assert checked.skipped == bytes([0, 1, 0, 0, 0])  # the unmapped category is counted
    assert (checked.new, list(checked.new_at)) == (["s-1", "s-2"], [0, 3])
    assert [(o.record, o.code) for o in checked.failed] == [(13, "missing_sku"),
                                                            (15, "missing_field")]
    assert _counted(rules, records) == [_as_counted(process_record(rules, r, 11 + i))
                                        for i, r in enumerate(records)]


def test_a_nested_path_keeps_every_column(ruleset):
    rules = ruleset(connection_yaml(FILTERED.replace("{name}", "{name.first}"),
                                    feed="plain-feed", product_type="external-product",
                                    sku="s-{id}"))
    assert rules.compiled.checked_columns is None
