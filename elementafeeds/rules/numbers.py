"""Numbers and flags the way feeds write them, cached per distinct text.

Parsing is delegated to `elementafeeds.feeds.normalize` (one parser for the whole program);
the caches matter because a feed of 500 000 products has a few thousand distinct prices, and
filters, transforms and the payload all ask for the same ones.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from elementafeeds.rules.paths import is_empty, to_text


@lru_cache(maxsize=16384)
def parse_number(text: str) -> Decimal | None:
    """A number written the way feeds write it ("12,99 €", "1.299,00"), or None."""
    from elementafeeds.feeds.normalize import parse_decimal

    text = text.strip()
    if _PLAIN.match(text):  # "56.23", "12,90", "7": what `parse_decimal` gives, 4× cheaper
        return Decimal(text.replace(",", "."))
    return parse_decimal(text) if text else None


_PLAIN = re.compile(r"[0-9]+(?:\.[0-9]+|,[0-9]{1,2})?\Z")
"""Plain ASCII numbers whose reading is never in doubt: digits with a decimal point, or a
decimal comma with one or two decimals (three could be a thousands separator). Most feed
prices look like this, and distinct prices outnumber the cache, so misses are common."""
short_plain = _PLAIN.match
SHORT = 15
"""A plain number of at most SHORT characters has at most 15 digits (see `short_float`)."""


def short_float(number: Decimal) -> float | None:
    """`number` as a float that orders exactly as the Decimal does against any plain number
    text of at most SHORT characters; None when no float does.

    Two different decimals of at most 15 significant digits never round to the same double
    (a double holds 15.95 digits), and rounding keeps order; so a comparison of such texts'
    floats gives what the comparison of their Decimals gives. Far out of the double range
    that stops being true, hence the exponent bounds."""
    if not number.is_finite() or len(number.as_tuple().digits) > 15:
        return None
    if number and not -290 <= number.adjusted() <= 290:
        return None
    return float(number)


@lru_cache(maxsize=1024)
def parse_flag(text: str) -> bool | None:
    """yes/no, true/false, 1/0, in stock … as a bool, or None when it is not a flag."""
    from elementafeeds.feeds.normalize import parse_bool

    return parse_bool(text)


def number_of(value: Any) -> Decimal | None:
    """A Decimal from any value a chain carries; None when empty or not a number."""
    if value.__class__ is str:
        return parse_number(value)
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return Decimal(str(value))
    if isinstance(value, list):
        value = next((v for v in value if not is_empty(v)), None)
        return number_of(value) if value is not None else None
    text = to_text(value).strip()
    return parse_number(text) if text else None


CENT = Decimal("0.01")


def format_price(value: Any) -> str | None:
    """A price as WooCommerce wants it: a string with two decimals; None when not a price.

    Zero counts as no price: affiliate feeds write 0 for "unknown", and a product shown as
    free is worse than one that fails with a reason."""
    if value.__class__ is str:
        return price_text(value)
    return _format_number(number_of(value))


@lru_cache(maxsize=16384)
def price_text(text: str) -> str | None:
    """`format_price` of a text, cached (the hot path: prices repeat across a feed). Text
    that is already a price ("12.99", as the `price` transform leaves it) is not re-parsed."""
    if _FORMATTED.match(text) and text != "0.00":
        return text
    if _DECIMAL_COMMA.match(text) and text != "0,00":  # "12,90": the same, a comma for a point
        return text.replace(",", ".")
    return _format_number(parse_number(text))


_FORMATTED = re.compile(r"(?:0|[1-9]\d{0,14})\.\d\d\Z")
_DECIMAL_COMMA = re.compile(r"(?:0|[1-9][0-9]{0,14}),[0-9][0-9]\Z")


def _format_number(number: Decimal | None) -> str | None:
    if number is None or not number.is_finite() or number <= 0:
        return None
    try:
        return format(number.quantize(CENT, rounding=ROUND_HALF_UP), "f")
    except InvalidOperation:  # more digits than a Decimal holds (1e40): no price either
        return None
