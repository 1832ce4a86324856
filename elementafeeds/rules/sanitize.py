"""HTML from feeds, cleaned with an allow-list before it reaches a site.

WooCommerce runs `wp_filter_post_kses` on product texts anyway (wc-api.md §4), but WordPress
post content from an application password user with `unfiltered_html` is stored as sent, and
feeds carry scripts, iframes, inline styles and tracking pixels. nh3 (Rust ammonia) is fast;
text without a `<` cannot hold markup and skips it entirely, which keeps plain-text feeds
cheap. Links get `rel="nofollow noopener"`: affiliate links must not pass ranking.
"""

from __future__ import annotations

from collections.abc import Callable

from elementafeeds.config.models import Content

DEFAULT_TAGS = frozenset({
    "p", "br", "b", "strong", "i", "em", "u", "s", "small", "sub", "sup", "span", "div",
    "ul", "ol", "li", "dl", "dt", "dd", "h2", "h3", "h4", "h5", "h6", "blockquote", "hr",
    "table", "thead", "tbody", "tfoot", "tr", "th", "td", "a",
})
ATTRIBUTES = {
    "a": {"href", "title"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "ol": {"start"},
}
LINK_REL = "nofollow noopener"

Sanitizer = Callable[[str], str]


def make_sanitizer(content: Content) -> Sanitizer | None:
    """The connection's sanitiser, or None when `content.sanitize_html` is off."""
    if not content.sanitize_html:
        return None
    import nh3

    tags = set(DEFAULT_TAGS if content.allowed_tags is None else content.allowed_tags)
    attributes = {tag: set(attrs) for tag, attrs in ATTRIBUTES.items() if tag in tags}
    rel = LINK_REL if "a" in tags else None
    clean = nh3.clean

    def sanitize(text: str) -> str:
        if "<" not in text:
            return text
        return clean(text, tags=tags, attributes=attributes, link_rel=rel).strip()

    return sanitize
