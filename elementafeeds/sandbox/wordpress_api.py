"""The WordPress routes: `/` (site index), `/wp/v2/{posts,<cpt>,categories,tags,types,users/me}`,
`/wp/v2/media` (raw uploads, `wp_media`) and `/batch/v1` (wc-api.md §9, §12).

Custom post types are looked up in the live config on every request, so `PATCH /__admin/config`
can add one while the server runs; an unknown REST base (or the singular type name) is 404
`rest_no_route`, as on a real site.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

from elementafeeds.sandbox import terms, wp_media, wp_posts
from elementafeeds.sandbox.auth import php_params
from elementafeeds.sandbox.config import WP_VERSION, PostType
from elementafeeds.sandbox.params import paging_headers, to_bool
from elementafeeds.sandbox.rest import (
    ApiRequest,
    ApiResponse,
    RestError,
    Router,
    error_response,
    invalid_params,
    missing_params,
    no_route,
    run_route,
    wp_list,
)
from elementafeeds.sandbox.terms import CATEGORY, POST_TAG, Taxonomy

BATCH_V1_MAX = 25
BATCH_METHODS = ("POST", "PUT", "PATCH", "DELETE")
_POST_DENIALS = {
    "create": ("rest_cannot_create", "Sorry, you are not allowed to create posts as this user."),
    "edit": ("rest_cannot_edit", "Sorry, you are not allowed to edit this post."),
    "delete": ("rest_cannot_delete", "Sorry, you are not allowed to delete this post."),
    "read": ("rest_forbidden", "Sorry, you are not allowed to do that."),
    "context": ("rest_forbidden_context",
                "Sorry, you are not allowed to edit posts in this post type."),
}
_TERM_DENIALS = {
    "create": ("rest_cannot_create", "Sorry, you are not allowed to create terms in this "
               "taxonomy."),
    "edit": ("rest_cannot_update", "Sorry, you are not allowed to edit this term."),
    "delete": ("rest_cannot_delete", "Sorry, you are not allowed to delete this term."),
}


def register(router: Router) -> None:
    router.add("GET", "", site_index)
    router.add("GET", "/wp/v2", namespace_index)
    router.add("GET", "/wp/v2/types", list_types)
    router.add("GET", "/wp/v2/users/me", current_user)
    _term_routes(router, "/wp/v2/categories", CATEGORY)
    _term_routes(router, "/wp/v2/tags", POST_TAG)
    router.add("POST", "/wp/v2/media", wp_media.create_media)  # before the post-type routes
    router.add("GET", r"/wp/v2/media/(?P<id>\d+)", wp_media.get_media)
    posts, one = r"/wp/v2/(?P<base>[\w-]+)", r"/wp/v2/(?P<base>[\w-]+)/(?P<id>\d+)"
    router.add("GET", posts, list_posts)
    router.add("POST", posts, create_post, validate=_validate, batch_v1=True)
    router.add("GET", one, get_post)
    router.add("POST PUT PATCH", one, update_post, validate=_validate, batch_v1=True)
    router.add("DELETE", one, delete_post, batch_v1=True)
    router.add("POST", "/batch/v1", batch_v1, itemized=True)


def _deny(req: ApiRequest, denials: dict[str, tuple[str, str]], action: str) -> None:
    if not req.identity.can_manage:
        code, message = denials[action]
        raise RestError(code, message, req.identity.denial_status)


def _post_type(req: ApiRequest) -> PostType:
    post_type = req.config.post_type_by_base(req.path_params["base"])
    if post_type is None:
        raise no_route()
    return post_type


def _validate(req: ApiRequest) -> None:
    wp_posts.validate_body(req, _post_type(req))


def _edit_context(req: ApiRequest) -> bool:
    if req.query.get("context") != "edit":
        return False
    _deny(req, _POST_DENIALS, "context")
    return True


def _body(req: ApiRequest) -> dict[str, Any]:
    return req.body if isinstance(req.body, dict) else {}


def list_posts(req: ApiRequest) -> ApiResponse:
    post_type = _post_type(req)
    edit = _edit_context(req)
    total, docs, page = wp_posts.list_posts(req, post_type)
    views = [wp_posts.post_view(req, post_type, doc, edit) for doc in docs]
    return ApiResponse(200, views, paging_headers(req, total, page))


def create_post(req: ApiRequest) -> ApiResponse:
    post_type = _post_type(req)
    if _body(req).get("id"):
        raise RestError("rest_post_exists", "Cannot create existing post.")
    _deny(req, _POST_DENIALS, "create")
    doc = wp_posts.save_post(req, post_type, None, _body(req))
    location = f"{req.site_url}/wp-json/wp/v2/{post_type.rest_base}/{doc['id']}"
    return ApiResponse(201, wp_posts.post_view(req, post_type, doc, True), {"Location": location})


def get_post(req: ApiRequest) -> ApiResponse:
    post_type = _post_type(req)
    doc = wp_posts.get_post(req, post_type, int(req.path_params["id"]))
    edit = _edit_context(req)
    if doc["status"] != "publish":
        _deny(req, _POST_DENIALS, "read")
    return ApiResponse(200, wp_posts.post_view(req, post_type, doc, edit))


def update_post(req: ApiRequest) -> ApiResponse:
    post_type = _post_type(req)
    doc = wp_posts.get_post(req, post_type, int(req.path_params["id"]))
    _deny(req, _POST_DENIALS, "edit")
    doc = wp_posts.save_post(req, post_type, doc, _body(req))
    return ApiResponse(200, wp_posts.post_view(req, post_type, doc, True))


def delete_post(req: ApiRequest) -> ApiResponse:
    post_type = _post_type(req)
    doc = wp_posts.get_post(req, post_type, int(req.path_params["id"]))
    _deny(req, _POST_DENIALS, "delete")
    if to_bool(req.params.get("force")):
        previous = wp_posts.post_view(req, post_type, doc, True)
        req.store.delete_post(doc["id"])
        return ApiResponse(200, {"deleted": True, "previous": previous})
    doc = wp_posts.trash_post(req, doc)
    return ApiResponse(200, wp_posts.post_view(req, post_type, doc, True))


def _term_routes(router: Router, base: str, tax: Taxonomy) -> None:
    def list_(req: ApiRequest) -> ApiResponse:
        total, found, page = terms.list_terms(req, tax)
        return ApiResponse(200, terms.term_views(req, tax, found, base),
                           paging_headers(req, total, page))

    def create(req: ApiRequest) -> ApiResponse:
        _deny(req, _TERM_DENIALS, "create")
        term = terms.create_term(req, tax, req.body)
        return ApiResponse(201, terms.term_view(req, tax, term, base),
                           {"Location": f"{req.site_url}/wp-json{base}/{term['id']}"})

    def get(req: ApiRequest) -> ApiResponse:
        term = terms.get_term(req, tax, int(req.path_params["id"]))
        return ApiResponse(200, terms.term_view(req, tax, term, base))

    def update(req: ApiRequest) -> ApiResponse:
        terms.get_term(req, tax, int(req.path_params["id"]))
        _deny(req, _TERM_DENIALS, "edit")
        term = terms.update_term(req, tax, int(req.path_params["id"]), req.body)
        return ApiResponse(200, terms.term_view(req, tax, term, base))

    def delete(req: ApiRequest) -> ApiResponse:
        terms.get_term(req, tax, int(req.path_params["id"]))
        _deny(req, _TERM_DENIALS, "delete")
        force = bool(to_bool(req.params.get("force")))
        previous = terms.delete_term(req, tax, int(req.path_params["id"]), force)
        return ApiResponse(200, {"deleted": True, "previous": previous})

    router.add("GET", base, list_)
    router.add("POST", base, create)
    router.add("GET", rf"{base}/(?P<id>\d+)", get)
    router.add("POST PUT PATCH", rf"{base}/(?P<id>\d+)", update)
    router.add("DELETE", rf"{base}/(?P<id>\d+)", delete)


def batch_v1(req: ApiRequest) -> ApiResponse:
    """`WP_REST_Server::serve_batch_request_v1`: 207 with one envelope per request."""
    if not req.config.batch_v1:
        raise no_route()
    body = _body(req)
    requests, validation = body.get("requests"), body.get("validation", "normal")
    if requests is None:
        raise missing_params(["requests"])
    problem = _batch_problem(requests, validation)
    if problem:
        raise invalid_params(problem)
    subs, matches = [], []
    for item in requests:
        parts = urlsplit(item["path"])
        sub = req.sub(item.get("method", "POST").upper(), parts.path,
                      php_params(parse_qsl(parts.query)), item.get("body") or {})
        subs.append(sub)
        matches.append(_match_for_batch(sub))
    failed = any(isinstance(m, RestError) for m in matches)
    if failed and validation == "require-all-validate":
        return ApiResponse(207, {"failed": "validation", "responses": [
            _envelope(error_response(m)) if isinstance(m, RestError) else None
            for m in matches]})
    responses = []
    for sub, match in zip(subs, matches, strict=True):
        if isinstance(match, RestError):
            responses.append(_envelope(error_response(match)))
            continue
        try:
            responses.append(_envelope(run_route(match, sub, validated=True)))
        except RestError as exc:
            responses.append(_envelope(error_response(exc)))
    return ApiResponse(207, {"responses": responses})


def _batch_problem(requests: Any, validation: Any) -> dict[str, str]:
    if validation not in ("normal", "require-all-validate"):
        return {"validation": "validation is not one of normal and require-all-validate."}
    if not isinstance(requests, list):
        return {"requests": "requests is not of type array."}
    if len(requests) > BATCH_V1_MAX:
        return {"requests": f"requests must contain at most {BATCH_V1_MAX} items."}
    for index, item in enumerate(requests):
        if not isinstance(item, dict) or not isinstance(item.get("path"), str):
            return {"requests": f"requests[{index}][path] is a required property of "
                                f"requests[{index}]."}
        if str(item.get("method", "POST")).upper() not in BATCH_METHODS:
            return {"requests": f"requests[{index}][method] is not one of "
                                f"{wp_list(BATCH_METHODS)}."}
    return {}


def _match_for_batch(sub: ApiRequest) -> Any:
    """The route, or the RestError that stops this request before it runs."""
    try:
        route, sub.path_params = sub.services.router.match(sub.method, sub.route)
        if not route.batch_v1:
            raise RestError("rest_batch_not_allowed",
                            "The requested route does not support batch requests.", 400)
        if route.validate is not None:
            route.validate(sub)
        return route
    except RestError as exc:
        return exc


def _envelope(response: ApiResponse) -> dict[str, Any]:
    return {"body": response.data, "status": response.status, "headers": response.headers}


def site_index(req: ApiRequest) -> ApiResponse:
    namespaces = ["oembed/1.0", "wc/v3", "wp/v2", "wp-site-health/v1"]
    if req.config.batch_v1:
        namespaces.insert(0, "batch/v1")
    routes: dict[str, Any] = {}
    for route in req.services.router.routes:
        patterns = [route.pattern]
        if "(?P<base>" in route.pattern:
            patterns = [route.pattern.replace(r"(?P<base>[\w-]+)", pt.rest_base)
                        for pt in req.config.all_post_types()]
        for pattern in patterns:
            entry = routes.setdefault(pattern or "/", {"namespace": pattern.split("/")[1:3],
                                                       "methods": []})
            entry["methods"] = sorted(set(entry["methods"]) | route.methods)
    for entry in routes.values():
        entry["namespace"] = "/".join(entry["namespace"])
    if not req.config.batch_v1:
        routes.pop("/batch/v1", None)
    if not req.config.media_uploads:
        for pattern in [r for r in routes if r.startswith("/wp/v2/media")]:
            routes.pop(pattern)
    return ApiResponse(200, {
        "name": req.config.site_name, "description": "A local WooCommerce and WordPress sandbox",
        "url": req.site_url, "home": req.site_url, "gmt_offset": 0, "timezone_string": "UTC",
        "namespaces": namespaces, "wp_version_hint": WP_VERSION,
        "authentication": {"application-passwords": {"endpoints": {
            "authorization": f"{req.site_url}/wp-admin/authorize-application.php"}}},
        "routes": routes,
    })


def namespace_index(req: ApiRequest) -> ApiResponse:
    data = site_index(req).data
    routes = {k: v for k, v in data["routes"].items() if k.startswith("/wp/v2")}
    return ApiResponse(200, {"namespace": "wp/v2", "routes": routes})


def list_types(req: ApiRequest) -> ApiResponse:
    types = {}
    for post_type in req.config.all_post_types():
        types[post_type.name] = {
            "description": "", "hierarchical": False, "has_archive": False,
            "name": post_type.name.title(), "slug": post_type.name,
            "taxonomies": ["category", "post_tag"] if post_type.rest_base == "posts" else [],
            "rest_base": post_type.rest_base, "rest_namespace": "wp/v2"}
    return ApiResponse(200, types)


def current_user(req: ApiRequest) -> ApiResponse:
    if req.identity.kind != "wp_user":
        raise RestError("rest_not_logged_in", "You are not currently logged in.", 401)
    user = req.config.find_wp_user(req.identity.name)
    roles = ["subscriber"] if req.identity.read_only else ["administrator"]
    return ApiResponse(200, {
        "id": req.identity.user_id, "name": req.identity.name, "url": "", "description": "",
        "link": f"{req.site_url}/author/{req.identity.name}/", "slug": req.identity.name,
        "username": req.identity.name, "email": user.email if user else "", "roles": roles,
        "capabilities": {"edit_posts": not req.identity.read_only,
                         "manage_woocommerce": not req.identity.read_only},
        "meta": [],
    })
