"""Applying a product request body to a stored product, in WooCommerce's order and with its rules.

Follows WC-P3 `prepare_object_for_database` (wc-api.md §2, §4): type first, then text, status,
SKU (uniqueness checked here, case-insensitively, ignoring trashed products), attributes,
prices, stock (external products forced in stock, `manage_stock: true` refused), categories
(ids only, unknown ids dropped), tags (by id or name), external fields, images (a configured
unreachable host fails the item), meta_data (merged by key), dates.

Single endpoints validate JSON types first (`validate_strict`, a number where a string is due is
400 `rest_invalid_param`); batch items skip that step and are coerced, as the real store does.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from elementafeeds.sandbox.params import to_bool, to_int
from elementafeeds.sandbox.rest import ApiRequest, RestError, invalid_params, wp_list
from elementafeeds.sandbox.text import format_decimal, kses, parse_date, slugify, wc_clean

STRING_FIELDS = (
    "name", "slug", "type", "status", "catalog_visibility", "description", "short_description",
    "sku", "regular_price", "sale_price", "external_url", "button_text", "tax_status",
    "tax_class", "stock_status", "backorders", "weight", "shipping_class", "purchase_note",
    "global_unique_id", "date_created", "date_created_gmt", "date_on_sale_from",
    "date_on_sale_from_gmt", "date_on_sale_to", "date_on_sale_to_gmt",
)
NULLABLE = frozenset({"date_created", "date_created_gmt", "date_on_sale_from",
                      "date_on_sale_from_gmt", "date_on_sale_to", "date_on_sale_to_gmt",
                      "stock_quantity", "low_stock_amount"})
BOOL_FIELDS = ("featured", "virtual", "downloadable", "manage_stock", "sold_individually",
               "reviews_allowed")
INT_FIELDS = ("stock_quantity", "low_stock_amount", "menu_order", "parent_id",
              "download_limit", "download_expiry")
ARRAY_FIELDS = ("categories", "tags", "images", "attributes", "default_attributes",
                "meta_data", "upsell_ids", "cross_sell_ids", "downloads", "grouped_products")
ENUMS: dict[str, tuple[str, ...]] = {
    "type": ("simple", "grouped", "external", "variable"),
    "status": ("draft", "pending", "private", "publish", "future", "auto-draft", "trash"),
    "catalog_visibility": ("visible", "catalog", "search", "hidden"),
    "stock_status": ("instock", "outofstock", "onbackorder"),
    "backorders": ("no", "notify", "yes"),
    "tax_status": ("taxable", "shipping", "none"),
}
POST_STATUSES = ("draft", "pending", "private", "publish", "future", "trash")


def validate_strict(body: Any) -> None:
    """Route-argument validation of a single create/update (WP-RestFn schema checks)."""
    if not isinstance(body, dict):
        return
    errors: dict[str, str] = {}
    for name, value in body.items():
        if value is None and name in NULLABLE:
            continue
        if name in STRING_FIELDS and not isinstance(value, str):
            errors[name] = f"{name} is not of type string."
        elif name in BOOL_FIELDS and to_bool(value) is None:
            errors[name] = f"{name} is not of type boolean."
        elif name in INT_FIELDS and to_int(value) is None:
            errors[name] = f"{name} is not of type integer."
        elif name in ARRAY_FIELDS and not isinstance(value, list):
            errors[name] = f"{name} is not of type array."
        elif name == "dimensions" and not isinstance(value, dict):
            errors[name] = f"{name} is not of type object."
        elif name in ENUMS and value not in ENUMS[name]:
            errors[name] = f"{name} is not one of {wp_list(ENUMS[name])}."
    if errors:
        raise invalid_params(errors)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return "" if value is None else format_decimal(value) if not isinstance(value, bool) else ""


def apply_payload(req: ApiRequest, doc: dict[str, Any], body: dict[str, Any]
                  ) -> list[dict[str, Any]] | None:
    """Change `doc` in place; return the image plan, None when `images` was not sent (media
    are created by the caller once every check has passed). Raises the RestError the real
    store would answer."""
    if "type" in body:
        doc["type"] = body["type"] if body["type"] in ENUMS["type"] else "simple"
    for name in ("name", "description", "short_description"):
        if name in body and body[name] is not None:
            doc[name] = kses(_text(body[name]))
    if body.get("status") is not None:
        doc["status"] = body["status"] if body["status"] in POST_STATUSES else "draft"
    if body.get("slug") is not None:
        doc["slug"] = slugify(_text(body["slug"]))
    _simple_fields(doc, body)
    if body.get("sku") is not None:
        _set_sku(req, doc, wc_clean(_text(body["sku"])))
    if isinstance(body.get("attributes"), list):
        doc["attributes"] = _attributes(req, body["attributes"])
    _prices(doc, body)
    _stock(doc, body)
    for name in ("upsell_ids", "cross_sell_ids"):
        if isinstance(body.get(name), list):
            doc[name] = [i for i in (to_int(v) for v in body[name]) if i and i > 0]
    if isinstance(body.get("categories"), list):
        doc["categories"] = _category_ids(req, body["categories"])
    if isinstance(body.get("tags"), list):
        doc["tags"] = _tag_ids(req, body["tags"])
    if doc["type"] == "external":
        if body.get("external_url") is not None:
            url = _text(body["external_url"]).strip()
            doc["external_url"] = url if urlsplit(url).scheme in ("http", "https") else ""
        if body.get("button_text") is not None:
            doc["button_text"] = _text(body["button_text"])
    if doc["type"] == "grouped" and isinstance(body.get("grouped_products"), list):
        doc["grouped_products"] = [i for i in map(to_int, body["grouped_products"]) if i]
    images = _image_plan(req, body["images"]) if "images" in body else None
    if isinstance(body.get("meta_data"), list):
        _merge_meta(req, doc, body["meta_data"])
    for name in ("date_created", "date_created_gmt"):
        parsed = parse_date(body.get(name))
        if parsed:
            doc["date_created"] = parsed
    return images


def _simple_fields(doc: dict[str, Any], body: dict[str, Any]) -> None:
    for name in ("featured", "virtual", "downloadable", "sold_individually", "reviews_allowed"):
        if body.get(name) is not None:
            doc[name] = bool(to_bool(body[name]) if to_bool(body[name]) is not None
                             else body[name])
    for name in ("menu_order", "parent_id", "download_limit", "download_expiry"):
        if body.get(name) is not None:
            doc[name] = to_int(body[name]) or 0
    for name in ("tax_class", "purchase_note", "weight", "shipping_class", "global_unique_id"):
        if body.get(name) is not None:
            doc[name] = _text(body[name])
    if isinstance(body.get("dimensions"), dict):
        doc["dimensions"] = {k: _text(body["dimensions"].get(k, doc["dimensions"].get(k, "")))
                             for k in ("length", "width", "height")}
    if isinstance(body.get("downloads"), list):
        doc["downloads"] = body["downloads"]
    if body.get("tax_status") is not None:
        if body["tax_status"] not in ENUMS["tax_status"]:
            raise RestError("product_invalid_tax_status", "Invalid product tax status.", 400)
        doc["tax_status"] = body["tax_status"]
    if body.get("catalog_visibility") is not None:
        if body["catalog_visibility"] not in ENUMS["catalog_visibility"]:
            raise RestError("product_invalid_catalog_visibility",
                            "Invalid catalog visibility option.", 400)
        doc["catalog_visibility"] = body["catalog_visibility"]


def _set_sku(req: ApiRequest, doc: dict[str, Any], sku: str) -> None:
    """`WC_Product::set_sku`: a non-empty SKU must be unique among non-trashed products."""
    if sku:
        owner = req.store.sku_owner(sku, exclude_id=doc.get("id") or 0)
        if owner is not None:
            raise RestError("product_invalid_sku", "Invalid or duplicated SKU.", 400,
                            resource_id=owner, unique_sku=_unique_sku(req, sku))
    doc["sku"] = sku


def _unique_sku(req: ApiRequest, sku: str) -> str:
    for n in range(1, 1000):
        if req.store.sku_owner(f"{sku}-{n}") is None:
            return f"{sku}-{n}"
    return sku


def _attributes(req: ApiRequest, items: list[Any]) -> list[dict[str, Any]]:
    attributes = []
    for item in items:
        if not isinstance(item, dict):
            continue
        common = {"position": abs(to_int(item.get("position")) or 0),
                  "visible": bool(item.get("visible")), "variation": bool(item.get("variation"))}
        attribute_id = to_int(item.get("id")) or 0
        options = item.get("options")
        if attribute_id:
            attribute = req.store.get_attribute(attribute_id)
            if attribute is None or options is None:
                continue
            values = options if isinstance(options, list) else str(options).split("|")
            names = [wc_clean(v) for v in values if wc_clean(v)]
            if not names:
                continue
            from elementafeeds.sandbox.terms import ensure_term  # circular at import time

            terms = [ensure_term(req, f"pa_{attribute['slug']}", name) for name in names]
            attributes.append({"id": attribute_id, "name": attribute["name"],
                               "slug": f"pa_{attribute['slug']}", **common,
                               "options": [t["name"] for t in terms],
                               "term_ids": [t["id"] for t in terms]})
        elif item.get("name") and options is not None:
            joined = " | ".join(map(str, options)) if isinstance(options, list) else str(options)
            values = [v.strip() for v in joined.split("|") if v.strip()]
            name = wc_clean(item["name"])
            attributes.append({"id": 0, "name": name, "slug": slugify(name), **common,
                               "options": values})
    return attributes


def _prices(doc: dict[str, Any], body: dict[str, Any]) -> None:
    if doc["type"] in ("variable", "grouped"):
        doc.update(regular_price="", sale_price="", date_on_sale_from=None,
                   date_on_sale_to=None)
        return
    for name in ("regular_price", "sale_price"):
        if name in body and body[name] is not None:
            doc[name] = format_decimal(body[name])
    for name in ("date_on_sale_from", "date_on_sale_to"):
        for key in (name, f"{name}_gmt"):
            if key in body:
                doc[name] = parse_date(body[key])


def _stock(doc: dict[str, Any], body: dict[str, Any]) -> None:
    stock_status = body.get("stock_status", doc["stock_status"])
    if stock_status not in ENUMS["stock_status"]:
        stock_status = "instock"
    if body.get("manage_stock") is not None:
        manage = bool(to_bool(body["manage_stock"]))
        if manage and doc["type"] == "external":
            raise RestError("product_external_invalid_manage_stock",
                            "External products cannot be stock managed.", 400)
        doc["manage_stock"] = manage
    if body.get("backorders") in ENUMS["backorders"]:
        doc["backorders"] = body["backorders"]
    if doc["type"] == "external":
        doc.update(manage_stock=False, backorders="no", stock_quantity=None,
                   stock_status="instock")
    elif doc["type"] == "grouped" or not doc["manage_stock"]:
        doc.update(manage_stock=False, stock_quantity=None, stock_status=stock_status,
                   low_stock_amount=None)
    else:
        doc["stock_status"] = stock_status
        if body.get("stock_quantity") is not None:
            doc["stock_quantity"] = to_int(body["stock_quantity"]) or 0
        if "low_stock_amount" in body:
            doc["low_stock_amount"] = to_int(body["low_stock_amount"])
        quantity = doc.get("stock_quantity") or 0
        if quantity > 0:
            doc["stock_status"] = "instock"
        else:
            doc["stock_status"] = "onbackorder" if doc["backorders"] != "no" else "outofstock"


def _category_ids(req: ApiRequest, items: list[Any]) -> list[int]:
    """Ids only (names are ignored); unknown ids dropped; empty → default at save."""
    wanted = [to_int(i.get("id")) for i in items if isinstance(i, dict)]
    known = req.store.terms_by_ids([i for i in wanted if i])
    return [i for i in dict.fromkeys(wanted) if i in known and
            known[i]["taxonomy"] == "product_cat"]


def _tag_ids(req: ApiRequest, items: list[Any]) -> list[int]:
    from elementafeeds.sandbox.terms import ensure_term

    ids: list[int] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        if item.get("name"):
            ids.append(ensure_term(req, "product_tag", str(item["name"]))["id"])
        elif to_int(item.get("id")):
            term = req.store.get_term(to_int(item["id"]) or 0, "product_tag")
            if term:
                ids.append(term["id"])
    return list(dict.fromkeys(ids))


def _image_plan(req: ApiRequest, items: Any) -> list[dict[str, Any]]:
    """Check every image as the store would download it; nothing is created yet."""
    plan = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or not item:
            continue
        media_id = abs(to_int(item.get("id")) or 0)
        extra = {"name": wc_clean(item.get("name") or ""), "alt": wc_clean(item.get("alt") or "")}
        if media_id == 0 and isinstance(item.get("src"), str):
            src = item["src"].strip()
            parts = urlsplit(src)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise RestError("woocommerce_product_image_upload_error", f"Invalid URL {src}.")
            if req.config.image_host_unreachable(parts.hostname):
                raise RestError(
                    "woocommerce_product_image_upload_error",
                    f"Error getting remote image {src}. Error: cURL error 6: Could not "
                    f"resolve host: {parts.hostname}")
            plan.append({"src": src, **extra})
            continue
        if req.store.get_media(media_id) is None:
            raise RestError("woocommerce_product_invalid_image_id",
                            f"#{media_id} is an invalid image ID.")
        plan.append({"id": media_id, **extra})
    return plan


def _merge_meta(req: ApiRequest, doc: dict[str, Any], items: list[Any]) -> None:
    """`WC_Data::update_meta_data` per item: by id, else the first row of the key is updated
    and the others deleted; a null value deletes the key; `_sku` goes to the SKU setter."""
    meta: list[dict[str, Any]] = doc["meta_data"]
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("key"), str):
            continue
        key, value = item["key"], item.get("value")
        if key == "_sku":
            _set_sku(req, doc, wc_clean(_text(value)))
            continue
        meta_id = to_int(item.get("id"))
        rows = [m for m in meta if m["id"] == meta_id] if meta_id else []
        if not rows:
            rows = [m for m in meta if m["key"] == key]
        if value is None:
            meta[:] = [m for m in meta if m not in rows]
        elif rows:
            rows[0].update(key=key, value=value)
            meta[:] = [m for m in meta if m is rows[0] or m not in rows[1:]]
        else:
            meta.append({"id": req.store.next_id("meta"), "key": key, "value": value})
