"""The `/wc/v3/products/{categories,tags,attributes,attributes/<id>/terms}` routes (wc-api.md §5).

WooCommerce checks, in order: the taxonomy exists (404 `woocommerce_rest_taxonomy_invalid` for
an unknown attribute), the term exists (404), then the caller's permission — reading terms needs
the `manage_product_terms` capability, so anonymous reads are 401 too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from elementafeeds.sandbox import terms
from elementafeeds.sandbox.params import paging_headers, to_int
from elementafeeds.sandbox.rest import ApiRequest, ApiResponse, RestError, Router, missing_params
from elementafeeds.sandbox.terms import PRODUCT_CAT, PRODUCT_TAG, Taxonomy
from elementafeeds.sandbox.text import slugify, wc_clean
from elementafeeds.sandbox.wc_common import force_param, require, run_wc_batch

Resolve = Callable[[ApiRequest], Taxonomy]
RESERVED_SLUGS = frozenset({"attachment", "author", "category", "order", "name", "page",
                            "post", "product", "tag", "taxonomy", "term", "type", "year"})


def register(router: Router, ns: str) -> None:
    add_term_routes(router, f"{ns}/products/categories", lambda req: PRODUCT_CAT)
    add_term_routes(router, f"{ns}/products/tags", lambda req: PRODUCT_TAG)
    add_term_routes(router, rf"{ns}/products/attributes/(?P<attribute_id>\d+)/terms",
                    _attribute_taxonomy)
    attributes = f"{ns}/products/attributes"
    router.add("GET", attributes, list_attributes)
    router.add("POST", attributes, create_attribute)
    router.add("POST PUT PATCH", f"{attributes}/batch", attributes_batch, itemized=True)
    router.add("GET", rf"{attributes}/(?P<id>\d+)", get_attribute)
    router.add("POST PUT PATCH", rf"{attributes}/(?P<id>\d+)", update_attribute)
    router.add("DELETE", rf"{attributes}/(?P<id>\d+)", delete_attribute)


def _collection(req: ApiRequest) -> str:
    return re.sub(r"/(\d+|batch)/?$", "", req.route)


def _attribute_taxonomy(req: ApiRequest) -> Taxonomy:
    attribute = req.store.get_attribute(int(req.path_params["attribute_id"]))
    if attribute is None:
        raise RestError("woocommerce_rest_taxonomy_invalid", "Taxonomy does not exist.", 404)
    return terms.attribute_taxonomy(attribute["slug"])


def add_term_routes(router: Router, base: str, resolve: Resolve) -> None:
    """List/create, get/update/delete and batch for one WooCommerce taxonomy."""

    def list_(req: ApiRequest) -> ApiResponse:
        tax = resolve(req)
        total, found, page = terms.list_terms(req, tax)
        require(req, "list")
        views = terms.term_views(req, tax, found, _collection(req))
        return ApiResponse(200, views, paging_headers(req, total, page))

    def create(req: ApiRequest) -> ApiResponse:
        tax = resolve(req)
        require(req, "create")
        term = terms.create_term(req, tax, req.body)
        view = terms.term_view(req, tax, term, _collection(req))
        location = f"{req.site_url}/wp-json{_collection(req)}/{term['id']}"
        return ApiResponse(201, view, {"Location": location})

    def one(action: str) -> Callable[[ApiRequest], ApiResponse]:
        def handler(req: ApiRequest) -> ApiResponse:
            tax = resolve(req)
            term_id = int(req.path_params["id"])
            term = terms.get_term(req, tax, term_id)
            require(req, action)
            if action == "edit":
                term = terms.update_term(req, tax, term_id, req.body)
            elif action == "delete":
                return ApiResponse(200, terms.delete_term(req, tax, term_id, force_param(req)))
            return ApiResponse(200, terms.term_view(req, tax, term, _collection(req)))
        return handler

    def batch(req: ApiRequest) -> ApiResponse:
        tax = resolve(req)
        collection = _collection(req)
        return run_wc_batch(
            req,
            lambda item: terms.term_view(req, tax, terms.create_term(req, tax, item), collection),
            lambda item: terms.term_view(req, tax, terms.update_term(
                req, tax, to_int(item.get("id")) or 0, item), collection),
            lambda term_id: terms.delete_term(req, tax, term_id, True))

    router.add("GET", base, list_)
    router.add("POST", base, create)
    router.add("POST PUT PATCH", f"{base}/batch", batch, itemized=True)
    router.add("GET", rf"{base}/(?P<id>\d+)", one("view"))
    router.add("POST PUT PATCH", rf"{base}/(?P<id>\d+)", one("edit"))
    router.add("DELETE", rf"{base}/(?P<id>\d+)", one("delete"))


def attribute_view(req: ApiRequest, attribute: dict[str, Any]) -> dict[str, Any]:
    href = f"{req.site_url}/wp-json/wc/v3/products/attributes"
    return {"id": attribute["id"], "name": attribute["name"], "slug": f"pa_{attribute['slug']}",
            "type": attribute.get("type", "select"),
            "order_by": attribute.get("order_by", "menu_order"),
            "has_archives": attribute.get("has_archives", False),
            "_links": {"self": [{"href": f"{href}/{attribute['id']}"}],
                       "collection": [{"href": href}]}}


def _attribute(req: ApiRequest, attribute_id: int) -> dict[str, Any]:
    attribute = req.store.get_attribute(attribute_id)
    if attribute is None:
        raise RestError("woocommerce_rest_attribute_invalid", "Resource does not exist.", 404)
    return attribute


def _attribute_slug(req: ApiRequest, raw: str, exclude_id: int = 0) -> str:
    slug = slugify(raw.removeprefix("pa_")).replace("-", "_") if raw else ""
    problem = None
    if len(slug) > 28:
        problem = f'Slug "{slug}" is too long (28 characters max). Shorten it, please.'
    elif slug in RESERVED_SLUGS:
        problem = f'Slug "{slug}" is not allowed because it is a reserved term. Change it, please.'
    else:
        owner = req.store.attribute_by_slug(slug)
        if owner is not None and owner["id"] != exclude_id:
            problem = f'Slug "{slug}" is already in use. Change it, please.'
    if problem:
        raise RestError("woocommerce_rest_cannot_create", problem, 400)
    return slug


def _apply_attribute(attribute: dict[str, Any], body: dict[str, Any]) -> None:
    if body.get("type") in ("select", "text"):
        attribute["type"] = body["type"]
    if body.get("order_by") in ("menu_order", "name", "name_num", "id"):
        attribute["order_by"] = body["order_by"]
    if "has_archives" in body:
        attribute["has_archives"] = bool(body["has_archives"])


def new_attribute(req: ApiRequest, body: Any) -> dict[str, Any]:
    body = body if isinstance(body, dict) else {}
    if not isinstance(body.get("name"), str) or not body["name"].strip():
        raise missing_params(["name"])
    name = wc_clean(body["name"])
    attribute = {"name": name, "slug": _attribute_slug(req, str(body.get("slug") or name)),
                 "type": "select", "order_by": "menu_order", "has_archives": False}
    _apply_attribute(attribute, body)
    attribute["id"] = req.store.save_attribute(attribute)
    return attribute


def change_attribute(req: ApiRequest, attribute_id: int, body: Any) -> dict[str, Any]:
    body = body if isinstance(body, dict) else {}
    attribute = _attribute(req, attribute_id)
    if isinstance(body.get("name"), str) and body["name"].strip():
        attribute["name"] = wc_clean(body["name"])
    if body.get("slug"):
        slug = _attribute_slug(req, str(body["slug"]), attribute_id)
        req.store.rename_taxonomy(f"pa_{attribute['slug']}", f"pa_{slug}")
        attribute["slug"] = slug
    _apply_attribute(attribute, body)
    req.store.save_attribute(attribute)
    return attribute


def remove_attribute(req: ApiRequest, attribute_id: int, force: bool) -> dict[str, Any]:
    attribute = _attribute(req, attribute_id)
    if not force:
        raise RestError("woocommerce_rest_trash_not_supported",
                        "Resource does not support trashing.", 501)
    req.store.delete_taxonomy(f"pa_{attribute['slug']}")
    req.store.delete_attribute(attribute_id)
    return attribute_view(req, attribute)


def list_attributes(req: ApiRequest) -> ApiResponse:
    require(req, "list")
    found = req.store.list_attributes()
    headers = {"X-WP-Total": str(len(found)), "X-WP-TotalPages": "1"}
    return ApiResponse(200, [attribute_view(req, a) for a in found], headers)


def create_attribute(req: ApiRequest) -> ApiResponse:
    require(req, "create")
    attribute = new_attribute(req, req.body)
    location = f"{req.site_url}/wp-json/wc/v3/products/attributes/{attribute['id']}"
    return ApiResponse(201, attribute_view(req, attribute), {"Location": location})


def get_attribute(req: ApiRequest) -> ApiResponse:
    attribute = _attribute(req, int(req.path_params["id"]))
    require(req, "view")
    return ApiResponse(200, attribute_view(req, attribute))


def update_attribute(req: ApiRequest) -> ApiResponse:
    _attribute(req, int(req.path_params["id"]))
    require(req, "edit")
    return ApiResponse(200, attribute_view(
        req, change_attribute(req, int(req.path_params["id"]), req.body)))


def delete_attribute(req: ApiRequest) -> ApiResponse:
    _attribute(req, int(req.path_params["id"]))
    require(req, "delete")
    return ApiResponse(200, remove_attribute(req, int(req.path_params["id"]), force_param(req)))


def attributes_batch(req: ApiRequest) -> ApiResponse:
    return run_wc_batch(
        req,
        lambda item: attribute_view(req, new_attribute(req, item)),
        lambda item: attribute_view(req, change_attribute(req, to_int(item.get("id")) or 0,
                                                          item)),
        lambda attribute_id: remove_attribute(req, attribute_id, True))
