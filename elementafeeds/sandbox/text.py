"""Small approximations of WordPress's text sanitisers, enough for a syncing client to notice.

`kses` strips disallowed tags (script, iframe, …) and keeps their text, as `wp_filter_post_kses`
does; term names are HTML-escaped on save ("A & B" reads back "A &amp; B"); slugs are
`sanitize_title` lookalikes. None of this tries to be byte-exact with PHP.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

_DISALLOWED = ("script", "iframe", "style", "object", "embed", "form", "input", "button",
               "link", "meta", "frame", "frameset", "applet", "base", "textarea", "select")
_DISALLOWED_RE = re.compile(r"</?\s*(?:" + "|".join(_DISALLOWED) + r")\b[^>]*>", re.IGNORECASE)
_EVENT_ATTR_RE = re.compile(r"\s+on[a-z]+\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s>]+)", re.IGNORECASE)
_TAG_RE = re.compile(r"<[^>]*>")
_ENTITY_RE = re.compile(r"&(?!(?:[a-zA-Z][a-zA-Z0-9]*|#\d+|#x[0-9a-fA-F]+);)")


def kses(text: str) -> str:
    """Remove disallowed tags and event-handler attributes; keep the rest of the markup."""
    return _EVENT_ATTR_RE.sub("", _DISALLOWED_RE.sub("", text))


def strip_tags(text: str) -> str:
    return _TAG_RE.sub("", text)


def wc_clean(value: Any) -> str:
    """`wc_clean`: strip tags, trim."""
    return strip_tags(str(value)).strip()


def term_name(name: str) -> str:
    """A term name as WordPress stores it: tags stripped, trimmed, bare `&` escaped."""
    cleaned = strip_tags(name).strip()
    return _ENTITY_RE.sub("&amp;", cleaned).replace("<", "&lt;").replace(">", "&gt;")


def slugify(text: str) -> str:
    """`sanitize_title` lookalike: ascii, lower case, dashes."""
    text = strip_tags(text).replace("&amp;", "")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^a-z0-9_\s-]", "", text.lower())
    return re.sub(r"[\s-]+", "-", text).strip("-")


def format_decimal(value: Any) -> str:
    """`wc_format_decimal` for a value a batch item sent as a number (or a string)."""
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, (int, float)):
        try:
            text = format(Decimal(str(value)), "f")
        except InvalidOperation:
            return ""
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return text
    return str(value).strip()


def as_float(value: str) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def now_iso() -> str:
    """The site's clock (UTC, as the sandbox site's timezone is UTC), second resolution."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def parse_date(value: Any) -> str | None:
    """`rest_parse_date`: an ISO 8601 date-time → `YYYY-MM-DDTHH:MM:SS` (UTC), else None."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed.strftime("%Y-%m-%dT%H:%M:%S")
