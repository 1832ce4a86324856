"""What every WooCommerce controller shares: permission errors and the `/batch` endpoint shape.

`run_wc_batch` is WC-Ctl `batch_items` (wc-api.md §1): create, update and delete counted
together against the 100-item cap (413 above it), run in that order, never rolled back, each
failure reported in place as `{"id": …, "error": {code, message, data}}` inside a 200.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from elementafeeds.sandbox.params import to_int
from elementafeeds.sandbox.rest import ApiRequest, ApiResponse, RestError, run_items

BATCH_LIMIT = 100

_DENIALS = {
    "list": ("woocommerce_rest_cannot_view", "Sorry, you cannot list resources."),
    "view": ("woocommerce_rest_cannot_view", "Sorry, you cannot view this resource."),
    "create": ("woocommerce_rest_cannot_create", "Sorry, you are not allowed to create resources."),
    "edit": ("woocommerce_rest_cannot_edit", "Sorry, you are not allowed to edit this resource."),
    "delete": ("woocommerce_rest_cannot_delete",
               "Sorry, you are not allowed to delete this resource."),
    "batch": ("woocommerce_rest_cannot_batch",
              "Sorry, you are not allowed to batch manipulate this resource."),
}


def require(req: ApiRequest, action: str) -> None:
    """A store manager may do anything; others get 401 (anonymous) or 403 (logged in)."""
    if not req.identity.can_manage:
        code, message = _DENIALS[action]
        raise RestError(code, message, req.identity.denial_status)


def force_param(req: ApiRequest) -> bool:
    value = req.params.get("force")
    return value is True or str(value).lower() in ("true", "1")


def _item(apply: Callable[[], dict[str, Any]], failed_id: Any) -> dict[str, Any]:
    try:
        return apply()
    except RestError as exc:
        return {"id": failed_id, "error": exc.body()}


def run_wc_batch(req: ApiRequest,
                 create: Callable[[dict[str, Any]], dict[str, Any]],
                 update: Callable[[dict[str, Any]], dict[str, Any]],
                 delete: Callable[[int], dict[str, Any]]) -> ApiResponse:
    require(req, "batch")
    body = req.body if isinstance(req.body, dict) else {}
    creates = body.get("create") or []
    updates = body.get("update") or []
    deletes = body.get("delete") or []
    if not all(isinstance(part, list) for part in (creates, updates, deletes)):
        raise RestError("rest_invalid_param", "Invalid parameter(s): create, update, delete", 400)
    if len(creates) + len(updates) + len(deletes) > BATCH_LIMIT:
        raise RestError("woocommerce_rest_request_entity_too_large",
                        f"Unable to accept more than {BATCH_LIMIT} items for this request.", 413)
    result: dict[str, list[dict[str, Any]]] = {}
    if creates:
        result["create"] = run_items(req, creates, lambda item: _item(
            lambda: create(item if isinstance(item, dict) else {}), 0))
    if updates:
        result["update"] = run_items(req, updates, lambda item: _item(
            lambda: update(item if isinstance(item, dict) else {}),
            item.get("id") if isinstance(item, dict) else None))
    ids = [i for i in (to_int(d) or 0 for d in deletes) if i != 0]
    if ids:
        result["delete"] = run_items(req, ids, lambda i: _item(lambda: delete(i), i))
    return ApiResponse(200, result or [])
