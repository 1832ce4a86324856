"""Pure helpers that turn feed text into values: flags, decimal numbers, clean text.

Feeds are typed by hand in many languages: "kyllä", "In Stock", "12,99 €", "1.299,00",
"SEK 1 299:-", "1,299" (Adsettings: a thousands separator). The rules layer calls these per
record, so they avoid regex backtracking and cache nothing themselves (the callers cache).
"""

from __future__ import annotations

import html
import re
import unicodedata
from decimal import Decimal, InvalidOperation

_TRUE = {
    "yes", "y", "true", "t", "1", "on", "x",
    "ja", "j", "kyllä", "kylla", "k", "oui", "si", "sí", "sì", "da", "tak", "igen", "sim",
    "in stock", "instock", "in_stock", "in-stock", "available", "på lager", "pa lager",
    "i lager", "lagerförd", "varastossa", "auf lager", "lieferbar", "verfügbar", "en stock",
    "disponible", "disponibile", "op voorraad", "schema.org/instock",
}
_FALSE = {
    "no", "n", "false", "f", "0", "off", "-",
    "nej", "nein", "ei", "non", "nee", "nie", "nem", "não", "nao",
    "out of stock", "outofstock", "out_of_stock", "out-of-stock", "sold out", "soldout",
    "unavailable", "not available", "slut i lager", "ej i lager", "inte i lager", "slutsåld",
    "loppu", "loppuunmyyty", "ei varastossa", "ausverkauft", "nicht lieferbar",
    "nicht verfügbar", "rupture de stock", "épuisé", "agotado", "esaurito",
    "niet op voorraad", "schema.org/outofstock",
}
_SCHEMA_ORG = re.compile(r"^https?://schema\.org/", re.IGNORECASE)


def parse_bool(text: object) -> bool | None:
    """yes/no, true/false, 1/0, kyllä/ei, ja/nej, ja/nein, oui/non, si/no, in stock/out of
    stock … as a bool; None when empty or not a recognised flag (never a guess)."""
    if isinstance(text, bool):
        return text
    if text is None:
        return None
    value = clean_text(str(text)).casefold().strip(" .!")
    if not value:
        return None
    value = _SCHEMA_ORG.sub("schema.org/", value)
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    return None


# A number inside text: digits with the separators feeds use for thousands and decimals
# (space, NBSP, narrow NBSP, thin space, apostrophes). Possessive, so no backtracking.
_NUMBER = re.compile(r"[-+\u2212]?(?:\d[\d \u00a0\u202f\u2009'’.,]*+|[.,]\d++)")
_SEP_SPACE = re.compile(r"[ \u00a0\u202f\u2009'’]")


def parse_decimal(text: object) -> Decimal | None:
    """The number in a price-like text as a Decimal, or None.

    "12,99 €" → 12.99, "1.299,00" → 1299.00, "1,299.00" → 1299.00, "SEK 1 299:-" → 1299,
    "12.99 EUR" → 12.99, ".5" → 0.5, "129,-" → 129. With both separators the last one is the
    decimal point. A lone comma followed by exactly three digits is a thousands separator
    ("1,299" → 1299, as Adsettings writes prices) unless the integer part is 0; a lone point is
    always a decimal point ("1.299" → 1.299). Text with two separate numbers ("2 for 10") is
    None: guessing which one is the price would be worse than failing with a reason.
    """
    if text is None or isinstance(text, bool):
        return None
    if isinstance(text, (int, Decimal)):
        return Decimal(text)
    if isinstance(text, float):
        return Decimal(repr(text))
    value = str(text).strip()
    if not value:
        return None
    whole = value.endswith((":-", ",-", ".-"))  # "129,-", "1.299,-", "1 299:-": whole units
    if whole:
        value = value[:-2]
    found = _NUMBER.findall(value.replace("%", ""))
    if len(found) != 1:
        return None
    token = found[0].rstrip(" \u00a0\u202f\u2009'’")
    negative = token[:1] in "-\u2212"
    token = _SEP_SPACE.sub("", token.lstrip("+-\u2212")).rstrip(".,")
    token = token.replace(",", "").replace(".", "") if whole else _resolve_separators(token)
    if token is None or not token or token == ".":
        return None
    try:
        number = Decimal(token)
    except InvalidOperation:
        return None
    return -number if negative else number


def _resolve_separators(token: str) -> str | None:
    comma, point = token.rfind(","), token.rfind(".")
    if comma >= 0 and point >= 0:
        decimal_sep, group_sep = (",", ".") if comma > point else (".", ",")
        head, _, tail = token.rpartition(decimal_sep)
        if decimal_sep in head:
            return None
        return head.replace(group_sep, "") + "." + tail
    if comma >= 0:
        parts = token.split(",")
        if len(parts) > 2:
            return token.replace(",", "") if all(len(p) == 3 for p in parts[1:]) else None
        head, tail = parts
        if len(tail) == 3 and head.strip("0"):
            return head + tail
        return head + "." + tail
    if token.count(".") > 1:
        parts = token.split(".")
        return token.replace(".", "") if all(len(p) == 3 for p in parts[1:]) else None
    return token


# Invisible characters that only ever hurt: zero-width, BOM, soft hyphen, bidi controls.
_INVISIBLE = dict.fromkeys(
    [0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x00AD, 0x200E, 0x200F,
     *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
)
_CONTROL = dict.fromkeys([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F,
                          *range(0x80, 0xA0)])
_SPACES = dict.fromkeys([0x00A0, *range(0x2000, 0x200B), 0x202F, 0x205F, 0x3000], " ")
_CLEAN_TABLE = {**_INVISIBLE, **_CONTROL, **_SPACES}
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]")
_RUNS = re.compile(r"\s+")
_LINE_RUNS = re.compile(r"[ \t]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def clean_text(text: object, *, keep_newlines: bool = False) -> str:
    """Text with invisible and control characters removed and whitespace normalised.

    Zero-width characters, BOMs, soft hyphens and bidi controls go; NBSP and the other Unicode
    spaces become a plain space; ANSI escape sequences and control characters are dropped; the
    result is
    NFC. Whitespace runs collapse to one space; with `keep_newlines` line breaks survive (at
    most one blank line in a row), which descriptions need.
    """
    if text is None:
        return ""
    value = unicodedata.normalize("NFC", str(text))
    if "\x1b" in value:
        value = _ANSI.sub("", value)
    if keep_newlines:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
        value = value.translate(_CLEAN_TABLE)
        value = "\n".join(_LINE_RUNS.sub(" ", line).strip() for line in value.split("\n"))
        return _BLANK_LINES.sub("\n\n", value).strip()
    value = value.translate(_CLEAN_TABLE)
    return _RUNS.sub(" ", value).strip()


def decode_entities(text: object, rounds: int = 1) -> str:
    """HTML entities decoded (`&amp;` → `&`, `&aring;` → `å`, `&#229;` → `å`).

    `rounds=2` also undoes double escaping (`&amp;aring;`), which some feeds have; it is not
    the default because a literal `&amp;lt;` would then lose its meaning.
    """
    value = "" if text is None else str(text)
    for _ in range(max(1, rounds)):
        if "&" not in value:
            break
        value = html.unescape(value)
    return value
