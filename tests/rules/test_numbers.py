"""Property-based tests of the number and flag parsing the rules rely on (prices, numeric
filters, the bool transform), in the spellings feeds use."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from elementafeeds.config.models import Filters
from elementafeeds.rules.filters import compile_filters
from elementafeeds.rules.numbers import format_price, number_of, parse_flag

CENTS = st.integers(min_value=1, max_value=10**9).map(lambda c: Decimal(c) / 100)


def _grouped(whole: int, sep: str) -> str:
    return f"{whole:,}".replace(",", sep)


def spellings(amount: Decimal) -> list[str]:
    whole, cents = divmod(int(amount * 100), 100)
    return [
        f"{whole}.{cents:02d}", f"{whole},{cents:02d}",
        f"{_grouped(whole, '.')},{cents:02d}", f"{_grouped(whole, ',')}.{cents:02d}",
        f"{_grouped(whole, ' ')},{cents:02d} €", f"€{whole}.{cents:02d}",
        f"{whole}.{cents:02d} EUR", f"SEK {_grouped(whole, chr(0xA0))},{cents:02d}",
    ]


@given(CENTS)
def test_property_prices_in_every_feed_spelling_format_to_two_decimals(amount):
    expected = f"{amount:.2f}"
    for text in spellings(amount):
        assert format_price(text) == expected, text


@given(CENTS, CENTS)
def test_property_numeric_filters_agree_with_decimal_comparison(value, bound):
    rule = Filters.model_validate({"rules": [{"field": "p", "op": "gt", "value": float(bound)}]})
    check = compile_filters(rule)
    for text in spellings(value)[:4]:
        assert (check({"p": text}) is None) == (value > Decimal(str(float(bound)))), text


@given(st.integers(min_value=-10**6, max_value=10**6))
def test_property_integers_round_trip(n):
    assert number_of(str(n)) == n
    assert number_of(n) == n


TRUE = ["yes", "Yes", "TRUE", "1", "ja", "kyllä", "in stock", "InStock", "oui"]
FALSE = ["no", "No", "false", "0", "nej", "ei", "out of stock", "OutOfStock", "non"]


@given(st.sampled_from(TRUE + FALSE), st.sampled_from(["", " ", "  "]),
       st.sampled_from(["", " ", "\t"]))
def test_property_flags_parse_whatever_the_case_and_padding(word, left, right):
    assert parse_flag(f"{left}{word}{right}".strip()) is (word in TRUE)


@given(st.text(alphabet="qxzj23456789", min_size=3, max_size=12))
def test_property_text_that_is_no_flag_word_is_not_a_flag(word):
    assert parse_flag(word) is None


def test_zero_and_negative_are_not_prices():
    assert format_price("0,00") is None and format_price("-5") is None
    assert format_price(Decimal("12.345")) == "12.35"
    assert format_price(12) == "12.00"
    assert format_price(["", "7,5"]) == "7.50"
