"""The `/wc/v3` routes for products, the batch endpoint and `system_status`.

Order of checks as in WordPress: route arguments are validated first (400), then permissions
(401/403), except that a missing product id answers 404/400 even to an anonymous caller
(wc-api.md §6 "anonymous quirk").
"""

from __future__ import annotations

from typing import Any

from elementafeeds.sandbox import products, wc_terms_api
from elementafeeds.sandbox.config import WC_VERSION, WP_VERSION
from elementafeeds.sandbox.params import paging_headers, to_int
from elementafeeds.sandbox.product_payload import validate_strict
from elementafeeds.sandbox.rest import ApiRequest, ApiResponse, Router
from elementafeeds.sandbox.wc_common import force_param, require, run_wc_batch

NAMESPACE = "/wc/v3"


def register(router: Router) -> None:
    router.add("GET", NAMESPACE, namespace_index)
    router.add("GET", f"{NAMESPACE}/system_status", system_status)
    router.add("GET", f"{NAMESPACE}/products", list_products)
    router.add("POST", f"{NAMESPACE}/products", create_product, validate=_strict)
    router.add("POST PUT PATCH", f"{NAMESPACE}/products/batch", batch, itemized=True)
    router.add("GET", rf"{NAMESPACE}/products/(?P<id>\d+)", get_product)
    router.add("POST PUT PATCH", rf"{NAMESPACE}/products/(?P<id>\d+)", update_product,
               validate=_strict)
    router.add("DELETE", rf"{NAMESPACE}/products/(?P<id>\d+)", delete_product)
    wc_terms_api.register(router, NAMESPACE)


def _strict(req: ApiRequest) -> None:
    validate_strict(req.body)


def _body(req: ApiRequest) -> dict[str, Any]:
    return req.body if isinstance(req.body, dict) else {}


def _one(req: ApiRequest, doc: dict[str, Any], status: int = 200,
         headers: dict[str, str] | None = None) -> ApiResponse:
    return ApiResponse(status, products.product_views(req, [doc])[0], headers or {})


def list_products(req: ApiRequest) -> ApiResponse:
    total, docs, page = products.list_products(req)
    require(req, "list")
    return ApiResponse(200, products.product_views(req, docs), paging_headers(req, total, page))


def create_product(req: ApiRequest) -> ApiResponse:
    require(req, "create")
    doc = products.create_product(req, _body(req))
    location = f"{req.site_url}/wp-json{NAMESPACE}/products/{doc['id']}"
    return _one(req, doc, 201, {"Location": location})


def get_product(req: ApiRequest) -> ApiResponse:
    doc = products.get_product(req, int(req.path_params["id"]))
    require(req, "view")
    return _one(req, doc)


def update_product(req: ApiRequest) -> ApiResponse:
    product_id = int(req.path_params["id"])
    products.get_product(req, product_id, missing_status=400)
    require(req, "edit")
    return _one(req, products.update_product(req, product_id, _body(req)))


def delete_product(req: ApiRequest) -> ApiResponse:
    product_id = int(req.path_params["id"])
    products.get_product(req, product_id)
    require(req, "delete")
    return ApiResponse(200, products.delete_product(req, product_id, force_param(req)))


def batch(req: ApiRequest) -> ApiResponse:
    def create(item: dict[str, Any]) -> dict[str, Any]:
        return products.product_views(req, [products.create_product(req, item)])[0]

    def update(item: dict[str, Any]) -> dict[str, Any]:
        product_id = to_int(item.get("id")) or 0
        return products.product_views(req, [products.update_product(req, product_id, item)])[0]

    def delete(product_id: int) -> dict[str, Any]:
        return products.delete_product(req, product_id, force=True)

    return run_wc_batch(req, create, update, delete)


def system_status(req: ApiRequest) -> ApiResponse:
    """Enough of WooCommerce's system status for `ef check` to read versions and settings."""
    require(req, "list")
    site = req.site_url
    return ApiResponse(200, {
        "environment": {
            "home_url": site, "site_url": site, "version": WC_VERSION,
            "wp_version": WP_VERSION, "wp_multisite": False, "wp_memory_limit": 268435456,
            "wp_debug_mode": False, "wp_cron": True, "language": "en_US",
            "external_object_cache": None, "server_info": "ElementaFeeds sandbox",
            "php_version": "8.2.0", "php_post_max_size": 67108864,
            "php_max_execution_time": 300, "max_upload_size": 67108864,
            "default_timezone": "UTC", "environment_type": "local",
        },
        "database": {"wc_database_version": WC_VERSION, "database_prefix": "wp_"},
        "active_plugins": [{"plugin": "woocommerce/woocommerce.php", "name": "WooCommerce",
                            "version": WC_VERSION, "author_name": "Automattic"}],
        "theme": {"name": "Storefront", "version": "4.6.0"},
        "settings": {"api_enabled": True, "force_ssl": False, "currency": "EUR",
                     "currency_symbol": "&euro;", "currency_position": "right_space",
                     "thousand_separator": " ", "decimal_separator": ",",
                     "number_of_decimals": 2, "taxonomies": {"external": "external",
                                                             "simple": "simple"}},
        "security": {"secure_connection": req.config.lenient_auth, "hide_errors": True},
    })


def namespace_index(req: ApiRequest) -> ApiResponse:
    routes = {route.pattern: {"namespace": "wc/v3", "methods": sorted(route.methods)}
              for route in req.services.router.routes if route.pattern.startswith(NAMESPACE)}
    return ApiResponse(200, {"namespace": "wc/v3", "routes": routes})
