"""Normalisation helpers: flags, decimal numbers, clean text, entities."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from elementafeeds.feeds.normalize import clean_text, decode_entities, parse_bool, parse_decimal


@pytest.mark.parametrize("text", ["yes", "Yes", " TRUE ", "1", "kyllä", "Kylla", "ja", "oui",
                                  "si", "sí", "in stock", "In Stock", "instock", "på lager",
                                  "http://schema.org/InStock", "https://schema.org/InStock"])
def test_parse_bool_true_words(text: str) -> None:
    assert parse_bool(text) is True


@pytest.mark.parametrize("text", ["no", "NO", "false", "0", "ei", "nej", "nein", "non",
                                  "out of stock", "Out Of Stock", "sold out",
                                  "http://schema.org/OutOfStock", "ausverkauft"])
def test_parse_bool_false_words(text: str) -> None:
    assert parse_bool(text) is False


@pytest.mark.parametrize("text", ["", "   ", None, "maybe", "2", "preorder"])
def test_parse_bool_never_guesses(text: str | None) -> None:
    assert parse_bool(text) is None


@pytest.mark.parametrize(("text", "expected"), [
    ("12,99 €", "12.99"),
    ("1.299,00", "1299.00"),
    ("1,299.00", "1299.00"),
    ("SEK 1 299:-", "1299"),
    ("12.99 EUR", "12.99"),
    ("99 USD", "99"),            # Google's example: price without decimals
    ("16.99 usd", "16.99"),      # Google Base: lower-case currency
    ("1,299", "1299"),           # Adsettings: the comma is a thousands separator
    (".5", "0.5"),               # WooCommerce sample: no leading zero
    ("0,125", "0.125"),
    ("129,-", "129"),
    ("1.299,-", "1299"),
    ("€ 1 234,50", "1234.50"),
    ("1'299.00", "1299.00"),
    ("1\u00a0299,95 kr", "1299.95"),
    ("-5", "-5"),
    ("59,99", "59.99"),          # Shopware: comma decimals
    ("1.299.000", "1299000"),
    ("1,299,000", "1299000"),
])
def test_parse_decimal_feed_notations(text: str, expected: str) -> None:
    assert parse_decimal(text) == Decimal(expected)


@pytest.mark.parametrize("text", ["", "free", "2 for 10", "2024-01-01", None, "abc", "1,2,3"])
def test_parse_decimal_refuses_what_is_not_one_number(text: str | None) -> None:
    assert parse_decimal(text) is None


def test_parse_decimal_passes_numbers_through() -> None:
    assert parse_decimal(3) == Decimal(3)
    assert parse_decimal(19.99) == Decimal("19.99")
    assert parse_decimal(True) is None


@given(st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False))
def test_parse_decimal_round_trips_plain_and_european_notation(value: Decimal) -> None:
    assert parse_decimal(f"{value:.2f}") == value
    european = f"{value:,.2f}".replace(",", " ").replace(".", ",")
    assert parse_decimal(european + " €") == value


def test_clean_text_removes_invisible_and_control_characters() -> None:
    dirty = "\ufeffRed\u200b shirt\u00a0 \x1b[31mXL\x1b[0m\x00 \u202eevil\u202c\u00ad"
    assert clean_text(dirty) == "Red shirt XL evil"


def test_clean_text_can_keep_paragraphs() -> None:
    text = "Line one  \r\n\r\n\r\n\r\nLine\ttwo\n"
    assert clean_text(text, keep_newlines=True) == "Line one\n\nLine two"
    assert clean_text(text) == "Line one Line two"


def test_clean_text_normalises_to_nfc() -> None:
    assert clean_text("Mu\u0308nster") == "Münster"


def test_decode_entities() -> None:
    assert decode_entities("R&amp;D &aring;&ouml; &#229; &nbsp;x") == "R&D åö å \u00a0x"
    assert decode_entities("&amp;aring;") == "&aring;"
    assert decode_entities("&amp;aring;", rounds=2) == "å"
