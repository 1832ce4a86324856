"""The per-record shortcuts give exactly what the general paths give: plain-number parsing,
decimal-comma prices, lone-key list mappings, cached category results, and the tag passes of
strip_html — property-based where the input space is wide."""

from __future__ import annotations

import itertools
import re
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from elementafeeds.config.models import Categories, FilterRule
from elementafeeds.feeds.normalize import parse_decimal
from elementafeeds.rules.categories import CategoryMatcher
from elementafeeds.rules.mapping import _list_mapper, _template_mapper, compile_mapping
from elementafeeds.rules.filters import _ORDER, _TESTS, _bound
from elementafeeds.rules.numbers import _format_number, parse_number, price_text, short_float
from elementafeeds.rules.templates import compile_template
from elementafeeds.rules.text import strip_html

NUMBERISH = st.text(alphabet="0123456789.,  -€\u00a0٣", min_size=1, max_size=10)


@given(NUMBERISH)
def test_property_number_parsing_equals_the_feed_parser(text):
    stripped = text.strip()
    expected = parse_decimal(stripped) if stripped else None
    assert repr(parse_number.__wrapped__(text)) == repr(expected)  # same digits and exponent


@given(NUMBERISH)
def test_property_price_text_equals_parsing_then_formatting(text):
    formatted = re.fullmatch(r"(?:0|[1-9]\d{0,14})\.\d\d", text) and text != "0.00"
    expected = text if formatted else _format_number(parse_number.__wrapped__(text))
    assert price_text.__wrapped__(text) == expected


PLAIN_NUMBER = st.from_regex(r"[0-9]{1,15}(\.[0-9]{1,14}|,[0-9]{1,2})?", fullmatch=True)
BOUND = st.one_of(st.integers(-10**16, 10**16), st.decimals(allow_nan=False, places=3),
                  st.floats(allow_nan=False), st.decimals(allow_nan=False), PLAIN_NUMBER)


@given(BOUND, st.one_of(PLAIN_NUMBER, NUMBERISH), st.sampled_from(["gt", "gte", "lt", "lte"]))
def test_property_number_filters_compare_as_decimals(bound, text, op):
    """The float shortcut of gt/gte/lt/lte gives what comparing Decimals gives."""
    test = _TESTS[op](FilterRule(field="p", op=op, value=str(bound)))
    number = parse_number(text)
    expected = number is not None and _ORDER[op](number, _bound(str(bound)))
    assert test(text) == expected


@given(st.lists(BOUND, min_size=2, max_size=2), st.one_of(PLAIN_NUMBER, NUMBERISH))
def test_property_between_compares_as_decimals(bounds, text):
    test = _TESTS["between"](FilterRule(field="p", op="between", value=[str(b) for b in bounds]))
    low, high = sorted(_bound(str(b)) for b in bounds)
    number = parse_number(text)
    assert test(text) == (number is not None and low <= number <= high)


def test_close_numbers_compare_exactly():
    gt = _TESTS["gt"](FilterRule(field="p", op="gt", value="0.100000000000001"))
    assert [gt(t) for t in ("0.100000000000001", "0.100000000000002", "0.1")] == [
        False, True, False]
    assert short_float(Decimal("0.1000000000000001")) is None  # 16 digits: Decimals only
    assert _TESTS["lt"](FilterRule(field="p", op="lt", value="0.1000000000000001"))("0.1")
    # 16 digits: the float of 9007199254741001 is 9007199254741000.0, so Decimals decide
    assert _TESTS["gt"](FilterRule(field="p", op="gt", value="9.00719925474100E15"))(
        "9007199254741001")


def test_decimal_comma_prices():
    assert [price_text(t) for t in ("12,90", "0,05", "0,00", "012,90", "1,299", "٣,٣٣")] == [
        "12.90", "0.05", None, "12.90", "1299.00", "3.33"]


ODD = [None, "", " ", "\u2003", "x", " x ", {"#text": " "}, {"#text": "q"}, {}, 0, False, 1.5,
       [], [[]], ["", " ", "y", None, [""], {"#text": ""}, {"#text": "z"}]]


def test_list_of_lone_keys_equals_the_general_list_mapping():
    fast = compile_mapping(["{a}", "{ b }"])
    general = _list_mapper([_template_mapper("{a}", ()), _template_mapper("{ b }", ())])
    assert fast.__name__ != general.__name__  # the shortcut is the one under test
    for a, b in itertools.product(ODD, ODD):
        assert fast({"a": a, "b": b}) == general({"a": a, "b": b}), (a, b)


def test_templates_of_plain_keys_render_like_nested_paths():
    plain = compile_template("{a} - {b}!").render
    for a, b in itertools.product(ODD, ODD):
        nested = compile_template("{x.a} - {x.b}!").render({"x": {"a": a, "b": b}})
        assert plain({"a": a, "b": b}) == nested, (a, b)


def test_cached_category_results_equal_the_first_answer():
    for unmapped in ("skip", "default"):
        m = CategoryMatcher(Categories.model_validate(
            {"source": "cat", "map": {"Koti": ["Koti"], "Tyhjä": []}, "unmapped": unmapped,
             "default": ["Muut"]}))
        for text in ("Koti > Matot", "Lelut  >  Autot", " ", "", "Tyhjä"):
            first = m.match({"cat": text})
            assert m.match({"cat": text}) == first
            assert m.match({"cat": [text]}) == first or text == "Tyhjä"


def test_strip_html_tag_passes():
    assert strip_html("<p>a</p><ul><li>b</li></ul>") == "a b"
    assert strip_html("<p>a <b>b</b></p>") == "a b"
    assert strip_html('<p title="<!-- x -->">a</p>') == "a"
    assert strip_html("x<!-- <p> -->y<SCRIPT>z</script >w") == "x y w"
