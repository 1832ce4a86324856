"""Destination payloads: WooCommerce product JSON and WordPress post JSON.

The payload is what a NEW item would be created with, in a neutral form the destination layer
finishes against the live site: categories and tags as `{"name": …}` or `{"id": …}`,
attributes by name, the featured image of a post as a URL. `_elementa_*` meta, the run id and
timestamps are added at write time by the pipeline, never here, so they stay out of hashes.

Shapes follow wc-api.md: prices are strings with two decimals (§4, a JSON number is rejected
by single endpoints), the affiliate link is `external_url` with `button_text` (`product_url`
is the legacy name the current API ignores), images are `[{"src": url}]` with the featured
image first, stock fields are never sent for external products (WooCommerce forces them to
in stock and rejects `manage_stock`), and a sale price that is not below the regular price is
sent as "" so that an ended sale is cleared on update.
"""

from __future__ import annotations

from typing import Any

from elementafeeds.rules.numbers import format_price, parse_flag, price_text
from elementafeeds.rules.paths import to_text
from elementafeeds.rules.sanitize import Sanitizer

WOOCOMMERCE_GROUPS: dict[str, tuple[str, ...]] = {
    "core": ("type", "name", "slug", "status", "featured", "catalog_visibility", "description",
             "short_description", "external_url", "button_text", "sku", "tags", "weight",
             "meta_data"),
    "price": ("regular_price", "sale_price", "date_on_sale_from", "date_on_sale_to",
              "stock_status", "stock_quantity", "manage_stock"),
    "categories": ("categories",),
    "attributes": ("attributes",),
    "images": ("images",),
}
WORDPRESS_GROUPS: dict[str, tuple[str, ...]] = {
    "core": ("title", "content", "excerpt", "status", "slug", "tags"),
    "categories": ("categories",),
    "meta": ("meta",),
    "images": ("featured_media_url",),
}
FIELD_GROUPS: dict[str, tuple[str, ...]] = {
    group: tuple(dict.fromkeys(
        WOOCOMMERCE_GROUPS.get(group, ()) + WORDPRESS_GROUPS.get(group, ())))
    for group in ("core", "price", "categories", "attributes", "images", "meta")
}
"""Group → destination field names, both platforms (see `groups_for` for one)."""

NOT_MAPPED = {"sku": "sku is the connection's `sku:` template",
              "categories": "categories are mapped under `categories:`",
              "attributes": "attributes are mapped under `attributes:`",
              "meta_data": "map single meta keys as fields named meta.KEY",
              "meta": "map single meta keys as fields named meta.KEY",
              "id": "the destination id is managed by ElementaFeeds"}
STOCK_FIELDS = ("stock_status", "stock_quantity", "manage_stock")
DECIDING = {"woocommerce": frozenset({"type", "name", "regular_price", "external_url"}),
            "wordpress": frozenset({"title"})}
"""The fields whose values decide whether an item can be sent at all (`PayloadBuilder.check`);
every other field only shapes the payload, and its shaping never fails."""


def groups_for(platform: str) -> dict[str, tuple[str, ...]]:
    return WOOCOMMERCE_GROUPS if platform == "woocommerce" else WORDPRESS_GROUPS


def mappable_fields(platform: str) -> set[str]:
    """Destination fields a connection or preset may map (besides meta.KEY)."""
    every = {f for fields in groups_for(platform).values() for f in fields}
    return every - set(NOT_MAPPED)


class PayloadProblem(Exception):
    """An item that cannot be sent: a missing or invalid essential field."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


# ---------------------------------------------------------------------------------------------
# value shaping


def _text(value: Any) -> str:
    return (value if value.__class__ is str else to_text(value)).strip()


_SCHEMES = ("https://", "http://")


def _is_url(text: str) -> bool:
    return text.startswith(_SCHEMES) and len(text) > 8 and " " not in text


def _urls(value: Any) -> list[str]:
    """http(s) URLs of a value or list, in order, without repeats or blanks."""
    if value is None:
        return []
    out: list[str] = []
    for item in (value if value.__class__ is list else (value,)):
        text = item.strip() if item.__class__ is str else _text(item)
        if text and text not in out and _is_url(text):
            out.append(text)
    return out


def _names(value: Any) -> list[dict[str, str]]:
    """Tags as `[{"name": …}]`: a list, or text separated by commas; blanks and repeats out."""
    items = value if value.__class__ is list else _text(value).split(",")
    seen: list[str] = []
    names = []
    for item in items:
        text = item.strip() if item.__class__ is str else _text(item)
        if text and text not in seen:
            seen.append(text)
            names.append({"name": text})
    return names


def _flag(value: Any) -> bool | None:
    if isinstance(value, bool) or value is None:
        return value
    text = _text(value)
    return parse_flag(text) if text else None


_STOCK = {"instock": "instock", "in stock": "instock", "outofstock": "outofstock",
          "out of stock": "outofstock", "onbackorder": "onbackorder",
          "on backorder": "onbackorder", "backorder": "onbackorder",
          "preorder": "onbackorder", "pre-order": "onbackorder"}


def _stock_status(value: Any) -> str | None:
    if isinstance(value, bool):
        return "instock" if value else "outofstock"
    text = _text(value).lower()
    if not text:
        return None
    if text in _STOCK:
        return _STOCK[text]
    flag = parse_flag(text)
    return None if flag is None else ("instock" if flag else "outofstock")


def _quantity(value: Any) -> int | None:
    from elementafeeds.rules.numbers import number_of

    number = number_of(value)
    return int(number) if number is not None and number.is_finite() else None


# ---------------------------------------------------------------------------------------------
# builders


class PayloadBuilder:
    """Turns mapped field values into one destination payload. Built once per worker; which
    optional fields exist is decided here, so the per-record code only visits mapped ones."""

    def __init__(self, platform: str, product_type: str | None, sanitize: Sanitizer | None,
                 fields: list[str]) -> None:
        self.platform = platform
        self.product_type = product_type or ("simple" if platform == "woocommerce" else None)
        self.sanitize = sanitize
        mapped = set(fields)
        self.meta_keys = tuple(sorted((f, f[5:]) for f in mapped
                                      if f.startswith("meta.") and len(f) > 5))
        if platform == "woocommerce":
            self.html_keys = tuple(k for k in ("description", "short_description") if k in mapped)
            self.text_keys = tuple(k for k in ("slug", "catalog_visibility", "weight",
                                               "date_on_sale_from", "date_on_sale_to")
                                   if k in mapped)
        else:
            self.html_keys = tuple(k for k in ("content", "excerpt") if k in mapped)
            self.text_keys = tuple(k for k in ("slug",) if k in mapped)
        self.has_type = "type" in mapped
        self.has_featured = "featured" in mapped
        self.has_tags = "tags" in mapped
        self.has_featured_url = "featured_media_url" in mapped
        self.has_stock = any(k in mapped for k in STOCK_FIELDS)

    def build(self, values: dict[str, Any], sku: str, categories: list[dict[str, Any]],
              attributes: list[dict[str, Any]]) -> dict[str, Any]:
        """The payload, or PayloadProblem naming the missing or invalid essential field."""
        if self.platform == "woocommerce":
            return self._product(values, sku, categories, attributes)
        return self._post(values, categories)

    def _html(self, value: Any) -> str:
        text = value.strip() if value.__class__ is str else _text(value)
        return self.sanitize(text) if self.sanitize is not None and text else text

    def check(self, values: dict[str, Any]) -> None:
        """`build`'s verdict alone: PayloadProblem when the item cannot be sent. `values` need
        only hold the `DECIDING` fields (and those whose mapping can fail)."""
        if self.platform == "woocommerce":
            product_type, _, _ = self._product_essentials(values)
            if product_type == "external":
                self._external_url(values)
        else:
            self._title(values)

    def _product_essentials(self, values: dict[str, Any]) -> tuple[str | None, str, str]:
        """(type, name, regular price), or PayloadProblem."""
        get = values.get
        product_type = (_text(get("type")) or self.product_type) if self.has_type \
            else self.product_type
        value = get("name")
        name = value.strip() if value.__class__ is str else _text(value)
        if not name:
            raise PayloadProblem("missing_field", "missing name")
        value = get("regular_price")
        regular = price_text(value) if value.__class__ is str else format_price(value)
        if regular is None:
            raw = _text(value)
            raise PayloadProblem("missing_field", f"regular_price {raw!r} is not a price"
                                 if raw else "missing price (regular_price)")
        return product_type, name, regular

    @staticmethod
    def _external_url(values: dict[str, Any]) -> str:
        value = values.get("external_url")
        url = value.strip() if value.__class__ is str else _text(value)
        if not url:
            raise PayloadProblem("missing_field", "missing external_url")
        if not _is_url(url):
            raise PayloadProblem("invalid_field",
                                 f"external_url is not an http(s) link: {url[:80]!r}")
        return url

    @staticmethod
    def _title(values: dict[str, Any]) -> str:
        title = _text(values.get("title"))
        if not title:
            raise PayloadProblem("missing_field", "missing title")
        return title

    def _product(self, values: dict[str, Any], sku: str, categories: list[dict[str, Any]],
                 attributes: list[dict[str, Any]]) -> dict[str, Any]:
        get = values.get
        product_type, name, regular = self._product_essentials(values)
        value = get("sale_price")
        sale = (price_text(value) if value.__class__ is str else format_price(value)) or ""
        if sale and float(sale) >= float(regular):
            sale = ""
        value = get("status")
        payload: dict[str, Any] = {
            "type": product_type, "name": name,
            "status": (value.strip() if value.__class__ is str else _text(value)) or "publish",
            "sku": sku, "regular_price": regular, "sale_price": sale}
        if product_type == "external":
            payload["external_url"] = self._external_url(values)
            value = get("button_text")
            button = value.strip() if value.__class__ is str else _text(value)
            if button:
                payload["button_text"] = button
        elif self.has_stock:
            self._stock(values, payload)
        sanitize = self.sanitize
        for key in self.html_keys:
            value = values[key]
            text = value.strip() if value.__class__ is str else _text(value)
            payload[key] = sanitize(text) if sanitize is not None and text else text
        for key in self.text_keys:
            text = _text(values[key])
            if text:
                payload[key] = text
        if self.has_featured:
            flag = _flag(values["featured"])
            if flag is not None:
                payload["featured"] = flag
        payload["categories"] = categories
        value = get("images")
        if value.__class__ is list and len(value) < 8:  # the hot path: a few URL strings
            urls: list[str] = []
            images = []
            for item in value:
                text = item.strip() if item.__class__ is str else _text(item)
                # _is_url, inline
                if text.startswith(_SCHEMES) and len(text) > 8 and " " not in text \
                        and text not in urls:
                    urls.append(text)
                    images.append({"src": text})
        else:
            images = [{"src": u} for u in _urls(value)]
        payload["images"] = images
        payload["attributes"] = attributes
        if self.has_tags:
            payload["tags"] = _names(values["tags"])
        if self.meta_keys:
            meta = []
            for field, key in self.meta_keys:
                value = get(field)
                text = value.strip() if value.__class__ is str else _text(value)
                meta.append({"key": key, "value": text or None})
            payload["meta_data"] = meta
        return payload

    def _stock(self, values: dict[str, Any], payload: dict[str, Any]) -> None:
        if "stock_status" in values:
            status = _stock_status(values["stock_status"])
            if status is not None:
                payload["stock_status"] = status
        if "stock_quantity" in values:
            quantity = _quantity(values["stock_quantity"])
            if quantity is not None:
                payload["stock_quantity"] = quantity
                payload["manage_stock"] = True
        if "manage_stock" in values and "manage_stock" not in payload:
            flag = _flag(values["manage_stock"])
            if flag is not None:
                payload["manage_stock"] = flag

    def _post(self, values: dict[str, Any], categories: list[dict[str, Any]]) -> dict[str, Any]:
        get = values.get
        payload: dict[str, Any] = {"title": self._title(values),
                                   "status": _text(get("status")) or "publish"}
        for key in self.html_keys:
            payload[key] = self._html(values[key])
        for key in self.text_keys:
            text = _text(values[key])
            if text:
                payload[key] = text
        payload["categories"] = categories
        if self.has_tags:
            payload["tags"] = _names(values["tags"])
        # every configured key, an empty one as None: null deletes the key on the site, so an
        # update converges when a feed stops sending a value
        payload["meta"] = {key: _text(get(field)) or None for field, key in self.meta_keys}
        if self.has_featured_url:  # None when the feed stops sending one: the update clears it
            images = _urls(get("featured_media_url"))
            payload["featured_media_url"] = images[0] if images else None
        return payload


def update_subset(platform: str, payload: dict[str, Any], changed_groups: set[str],
                  allowed: list[str] | None) -> dict[str, Any]:
    """The fields of `payload` to PUT on an existing item (see engine.update_payload)."""
    groups = groups_for(platform)
    wanted: set[str] = set()
    for group in changed_groups:
        wanted.update(groups.get(group, ()))
    wanted.discard("sku")  # the SKU identified the item; it never changes on update
    meta_field = "meta_data" if platform == "woocommerce" else "meta"
    meta_keys: set[str] | None = None
    if allowed is not None:
        permitted: set[str] = set()
        for name in allowed:
            permitted.update(groups.get(name, (name,)))
        meta_keys = {n[5:] for n in allowed if n.startswith("meta.")}
        if meta_field in permitted:
            meta_keys = None
        elif meta_keys:
            permitted.add(meta_field)
        wanted &= permitted
    out = {k: v for k, v in payload.items() if k in wanted}
    if meta_keys and meta_field in out:
        value = out[meta_field]
        if isinstance(value, list):
            out[meta_field] = [m for m in value if m.get("key") in meta_keys]
        else:
            out[meta_field] = {k: v for k, v in value.items() if k in meta_keys}
    return out
