"""Products: create, update, trash/delete, list, and the response shape (wc-api.md §2–§4, §7).

A product is stored as the document of its writable fields; everything derived (price,
on_sale, purchasable, category names, image URLs, links) is computed when it is shown, in the
`edit` context the REST API answers writes with.
"""

from __future__ import annotations

import random
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from elementafeeds.sandbox.params import (
    Page,
    check_enum,
    id_list,
    raise_if,
    read_paging,
    str_list,
    to_bool,
)
from elementafeeds.sandbox.product_payload import ENUMS, apply_payload
from elementafeeds.sandbox.rest import ApiRequest, RestError
from elementafeeds.sandbox.store import DEFAULT_PRODUCT_CATEGORY, Query
from elementafeeds.sandbox.text import as_float, now_iso, parse_date, slugify

ORDERBY = ("date", "id", "include", "title", "slug", "modified", "menu_order", "price",
           "popularity", "rating")
LIST_STATUSES = ("any", "future", "trash", "draft", "pending", "private", "publish")
UNSLUGGED = ("draft", "pending", "auto-draft")


def new_product() -> dict[str, Any]:
    """The defaults of a create (§10): simple, publish, visible, in stock."""
    return {
        "id": 0, "name": "", "slug": "", "type": "simple", "status": "publish",
        "featured": False, "catalog_visibility": "visible", "description": "",
        "short_description": "", "sku": "", "price": "", "regular_price": "", "sale_price": "",
        "date_on_sale_from": None, "date_on_sale_to": None, "virtual": False,
        "downloadable": False, "downloads": [], "download_limit": -1, "download_expiry": -1,
        "external_url": "", "button_text": "", "tax_status": "taxable", "tax_class": "",
        "manage_stock": False, "stock_quantity": None, "backorders": "no",
        "low_stock_amount": None, "sold_individually": False, "weight": "",
        "dimensions": {"length": "", "width": "", "height": ""}, "shipping_class": "",
        "reviews_allowed": True, "upsell_ids": [], "cross_sell_ids": [], "parent_id": 0,
        "purchase_note": "", "categories": [], "tags": [], "images": [], "attributes": [],
        "default_attributes": [], "grouped_products": [], "menu_order": 0, "meta_data": [],
        "global_unique_id": "", "stock_status": "instock", "total_sales": 0,
        "date_created": "", "date_modified": "",
    }


def invalid_id(status: int) -> RestError:
    return RestError("woocommerce_rest_product_invalid_id", "Invalid ID.", status)


def get_product(req: ApiRequest, product_id: int, missing_status: int = 404) -> dict[str, Any]:
    doc = req.store.get_product(product_id)
    if doc is None:
        raise invalid_id(missing_status)
    return doc


def create_product(req: ApiRequest, body: dict[str, Any]) -> dict[str, Any]:
    if body.get("id"):
        raise RestError("woocommerce_rest_product_exists", "Cannot create existing product.")
    doc = new_product()
    images = apply_payload(req, doc, body)
    if doc["sku"] and req.store.sku_owner(doc["sku"], trashed=True) is not None:
        raise RestError("woocommerce_rest_product_not_created",
                        f"The product with SKU ({doc['sku']}) you are trying to insert is "
                        "already present in the lookup table", 400)
    doc["name"] = doc["name"] or "Product"
    doc["id"] = req.store.next_id("post")
    doc["date_created"] = doc["date_created"] or now_iso()
    return _save(req, doc, images)


def update_product(req: ApiRequest, product_id: int, body: dict[str, Any]) -> dict[str, Any]:
    doc = get_product(req, product_id, missing_status=400)
    return _save(req, doc, apply_payload(req, doc, body))


def _save(req: ApiRequest, doc: dict[str, Any], images: list[dict[str, Any]] | None
          ) -> dict[str, Any]:
    now = now_iso()
    if images is not None:
        doc["images"] = [_stored_image(req, plan, now) for plan in images]
    if not doc["categories"]:
        doc["categories"] = [DEFAULT_PRODUCT_CATEGORY]
    if doc["status"] not in UNSLUGGED and doc["status"] != "trash":
        doc["slug"] = _unique_slug(req, doc["slug"] or slugify(doc["name"]) or str(doc["id"]),
                                   doc["id"])
    sale, regular = as_float(doc["sale_price"]), as_float(doc["regular_price"])
    on_sale = sale is not None and (regular is None or sale < regular)
    doc["price"] = doc["sale_price"] if on_sale else doc["regular_price"]
    doc["date_modified"] = now
    req.store.save_product(doc)
    req.store.set_object_terms(doc["id"], _term_ids(doc), doc["status"])
    return doc


def _term_ids(doc: dict[str, Any]) -> list[int]:
    return doc["categories"] + doc["tags"] + [
        t for a in doc["attributes"] for t in a.get("term_ids", [])]


def _unique_slug(req: ApiRequest, slug: str, product_id: int) -> str:
    candidate, n = slug, 2
    while req.store.product_slug_taken(candidate, product_id):
        candidate, n = f"{slug}-{n}", n + 1
    return candidate


def _stored_image(req: ApiRequest, plan: dict[str, Any], now: str) -> dict[str, Any]:
    """A sideloaded image becomes an attachment served from the site's uploads folder."""
    if "src" in plan:
        name = PurePosixPath(urlsplit(plan["src"]).path).name or "image.jpg"
        media = {"path": f"/wp-content/uploads/{now[:4]}/{now[5:7]}/{name}",
                 "source_url": plan["src"], "name": plan["name"] or PurePosixPath(name).stem,
                 "alt": plan["alt"], "date_created": now}
        media["id"] = req.store.add_media(media)
    else:
        media = req.store.get_media(plan["id"]) or {}
    return {"id": media["id"], "path": media["path"], "date_created": media["date_created"],
            "name": plan["name"] or media["name"], "alt": plan["alt"] or media["alt"]}


def delete_product(req: ApiRequest, product_id: int, force: bool) -> dict[str, Any]:
    """Trash (default) or delete; the answer is the product as it was before (§7)."""
    doc = get_product(req, product_id)
    before = product_views(req, [doc])[0]
    if force:
        req.store.delete_product(product_id)
        return before
    if doc["status"] == "trash":
        raise RestError("woocommerce_rest_already_trashed",
                        "The product has already been deleted.", 410)
    doc["status"] = "trash"
    doc["slug"] = f"{doc['slug']}__trashed" if doc["slug"] else ""
    doc["date_modified"] = now_iso()
    req.store.save_product(doc)
    req.store.set_object_terms(doc["id"], _term_ids(doc), "trash")
    return before


def list_products(req: ApiRequest) -> tuple[int, list[dict[str, Any]], Page]:
    """`GET /products` with the parameters a syncing client uses (§3)."""
    params = req.query
    errors: dict[str, str] = {}
    page = read_paging(params, errors, orderby=ORDERBY, default_orderby="date",
                       default_order="desc")
    check_enum(params, "status", LIST_STATUSES, errors)
    check_enum(params, "type", ENUMS["type"], errors)
    check_enum(params, "stock_status", ENUMS["stock_status"], errors)
    raise_if(errors)
    query = Query(limit=page.per_page, offset=page.skip)
    status = params.get("status") or "any"
    if status == "any":
        query.add("status NOT IN ('trash', 'auto-draft')")
    else:
        query.add("status = ?", status)
    if params.get("sku") and not params.get("search_sku"):
        skus = str(params["sku"]).split(",")
        query.add_in("sku_lower", [s.lower() for s in skus + [str(params["sku"])]])
    if params.get("search_sku"):
        query.add("sku_lower LIKE ?", f"%{str(params['search_sku']).lower()}%")
    if params.get("search"):
        like = f"%{params['search']}%"
        query.add("(name LIKE ? OR json_extract(doc, '$.description') LIKE ? OR "
                  "json_extract(doc, '$.short_description') LIKE ?)", like, like, like)
    for name, negate in (("include", False), ("exclude", True)):
        if id_list(params.get(name)):
            query.add_in("id", id_list(params[name]), negate)
    if id_list(params.get("parent")):
        query.add_in("json_extract(doc, '$.parent_id')", id_list(params["parent"]))
    for name in ("category", "tag"):
        if id_list(params.get(name)):
            query.add_terms(id_list(params[name]))
    if params.get("type"):
        query.add("type = ?", params["type"])
    if params.get("stock_status"):
        query.add("json_extract(doc, '$.stock_status') = ?", params["stock_status"])
    if str_list(params.get("slug")):
        query.add_in("slug", str_list(params["slug"]))
    if to_bool(params.get("featured")) is not None:
        query.add("json_extract(doc, '$.featured') = ?", int(bool(to_bool(params["featured"]))))
    for name, column, op in (("after", "date_created", ">"), ("before", "date_created", "<"),
                             ("modified_after", "date_modified", ">"),
                             ("modified_before", "date_modified", "<")):
        if parse_date(params.get(name)):
            query.add(f"{column} {op} ?", parse_date(params[name]))
    for name, op in (("min_price", ">="), ("max_price", "<=")):
        if as_float(params.get(name)) is not None:
            query.add(f"price {op} ?", as_float(params[name]))
    query.order_sql = _order_sql(req, page, id_list(params.get("include")))
    total, docs = req.store.query_products(query)
    return total, docs, page


def _order_sql(req: ApiRequest, page: Page, include: list[int]) -> str:
    way = "DESC" if page.order == "desc" else "ASC"
    if page.orderby in ("date", "modified", "rating"):
        column = "date_modified" if page.orderby == "modified" else "date_created"
        if req.config.unstable_date_order:
            # Same-second products come back in an arbitrary order per request, as §11 saw.
            salt = random.randrange(3, 1_000_003, 2)
            return f"{column} {way}, (id * {salt}) % 1000003 {way}"
        return f"{column} {way}, id {way}"
    if page.orderby == "include" and include:
        return f"instr(',{','.join(map(str, include))},', ',' || id || ',') {way}"
    column = {"id": "id", "title": "name COLLATE NOCASE", "slug": "slug",
              "menu_order": "menu_order", "price": "price", "popularity": "total_sales"
              }.get(page.orderby, "id")
    return f"{column} {way}, id {way}"


def product_views(req: ApiRequest, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Products as the REST API shows them, with one term lookup for the whole page."""
    ids = {t for d in docs for t in d["categories"] + d["tags"]}
    terms = req.store.terms_by_ids(sorted(ids))
    return [_view(req, doc, terms) for doc in docs]


def _view(req: ApiRequest, doc: dict[str, Any], terms: dict[int, dict[str, Any]]
          ) -> dict[str, Any]:
    site, pid = req.site_url, doc["id"]
    external = doc["type"] == "external"
    on_sale = bool(doc["sale_price"]) and doc["price"] == doc["sale_price"]
    published = doc["status"] == "publish"
    view = {k: doc[k] for k in ("id", "name", "slug")}
    view["permalink"] = (f"{site}/product/{doc['slug']}/" if published
                         else f"{site}/?post_type=product&p={pid}")
    view.update(date_created=doc["date_created"], date_created_gmt=doc["date_created"],
                date_modified=doc["date_modified"], date_modified_gmt=doc["date_modified"])
    for key in ("type", "status", "featured", "catalog_visibility", "description",
                "short_description", "sku", "price", "regular_price", "sale_price",
                "date_on_sale_from", "date_on_sale_to"):
        view[key] = doc[key]
    view.update(
        date_on_sale_from_gmt=doc["date_on_sale_from"], date_on_sale_to_gmt=doc["date_on_sale_to"],
        price_html=f'<span class="amount">{doc["price"]}</span>' if doc["price"] else "",
        on_sale=on_sale, purchasable=not external and doc["price"] != "" and published,
        total_sales=doc["total_sales"], virtual=doc["virtual"], downloadable=doc["downloadable"],
        downloads=doc["downloads"], download_limit=doc["download_limit"],
        download_expiry=doc["download_expiry"],
        external_url=doc["external_url"] if external else "",
        button_text=(doc["button_text"] or "Buy product") if external else "",
        tax_status=doc["tax_status"], tax_class=doc["tax_class"],
        manage_stock=doc["manage_stock"],
        stock_quantity=doc["stock_quantity"] if doc["manage_stock"] else None,
        backorders=doc["backorders"], backorders_allowed=doc["backorders"] != "no",
        backordered=False, low_stock_amount=doc["low_stock_amount"],
        sold_individually=doc["sold_individually"], weight=doc["weight"],
        dimensions=doc["dimensions"], shipping_required=not doc["virtual"],
        shipping_taxable=doc["tax_status"] in ("taxable", "shipping"),
        shipping_class=doc["shipping_class"], shipping_class_id=0,
        reviews_allowed=doc["reviews_allowed"], average_rating="0.00", rating_count=0,
        upsell_ids=doc["upsell_ids"], cross_sell_ids=doc["cross_sell_ids"],
        parent_id=doc["parent_id"], purchase_note=doc["purchase_note"],
        categories=_term_refs(doc["categories"], terms),
        tags=_term_refs(doc["tags"], terms),
        images=[{"id": i["id"], "date_created": i["date_created"],
                 "date_created_gmt": i["date_created"], "date_modified": i["date_created"],
                 "date_modified_gmt": i["date_created"], "src": site + i["path"],
                 "name": i["name"], "alt": i["alt"]} for i in doc["images"]],
        attributes=[{k: v for k, v in a.items() if k != "term_ids"} for a in doc["attributes"]],
        default_attributes=doc["default_attributes"], variations=[],
        grouped_products=doc["grouped_products"], menu_order=doc["menu_order"],
        stock_status=doc["stock_status"], has_options=False, post_password="",
        global_unique_id=doc["global_unique_id"], related_ids=[],
        meta_data=[dict(m) for m in doc["meta_data"]],
        _links={"self": [{"href": f"{site}/wp-json/wc/v3/products/{pid}"}],
                "collection": [{"href": f"{site}/wp-json/wc/v3/products"}]},
    )
    return view


def _term_refs(ids: list[int], terms: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"id": i, "name": terms[i]["name"], "slug": terms[i]["slug"]}
            for i in ids if i in terms]
