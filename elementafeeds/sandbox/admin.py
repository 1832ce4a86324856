"""`/__admin/*`: what tests and demos use to steer and inspect a sandbox.

No authentication, but only from loopback. Paths and JSON shapes:

    GET    /__admin/health                  {"ok": true}
    GET    /__admin/faults                  {"seed": 0, "faults": {name: settings}}
    PUT    /__admin/faults                  replace all (same shape)
    PATCH  /__admin/faults                  change some; {"faults": {name: null}} switches off
    DELETE /__admin/faults                  switch every fault off
    GET    /__admin/requests                {"total", "by_route": {route: {method: n}}, "faults"}
    DELETE /__admin/requests                zero the counters
    GET    /__admin/products[?status=&sku=] every product, trash included (REST shape)
    GET    /__admin/posts[?type=hotels]     every post of a REST base, trash included
    GET    /__admin/terms?taxonomy=T        every term of a taxonomy
    GET    /__admin/media                   every attachment (REST shape of /wp/v2/media)
    GET    /__admin/images/NAME[?status=&type=&size=]
                                            a stand-in image host (`image_host`)
    GET    /__admin/config, PATCH /__admin/config
    POST   /__admin/reset                   wipe data, counters, nonces and faults
                                            ({"keep_faults": true} keeps the faults)
    POST   /__admin/seed/categories         {"taxonomy": "product_cat", "tree":
                                             [{"name": "A", "children": [...]}]} → {"created"}
    POST   /__admin/seed/attributes         {"attributes": [{"name", "terms": [...]}]}
    POST   /__admin/seed/products           {"products": [...]} — no batch cap, no auth
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from elementafeeds.sandbox import products, terms, wc_terms_api, wp_media, wp_posts
from elementafeeds.sandbox.auth import ANONYMOUS, Identity
from elementafeeds.sandbox.faults import FaultPlan, RequestLog
from elementafeeds.sandbox.image_host import image_route
from elementafeeds.sandbox.rest import ApiRequest, RestError, Services
from elementafeeds.sandbox.store import Query

_LOOPBACK = ("127.", "::1", "localhost")
_ADMIN = Identity("wp_user", "admin", 1, False)


def admin_routes(services: Services, plan: FaultPlan, log: RequestLog) -> list[Route]:
    def api(request: Request, identity: Identity = ANONYMOUS) -> ApiRequest:
        site = f"http://{request.headers.get('host', 'localhost')}"
        return ApiRequest("GET", "/", dict(request.query_params), None, services, identity,
                          site)

    def guard(handler: Callable[[Request], Any]) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> JSONResponse:
            host = request.client.host if request.client else ""
            if not host.startswith(_LOOPBACK):
                return JSONResponse({"error": "admin is loopback-only"}, 403)
            raw = await request.body()
            try:
                request.state.json = json.loads(raw) if raw.strip() else {}
                return JSONResponse(await run_in_threadpool(handler, request))
            except (ValueError, TypeError, KeyError) as exc:
                return JSONResponse({"error": str(exc)}, 400)
            except RestError as exc:
                return JSONResponse(exc.body(), exc.status)
        return endpoint

    def faults(request: Request) -> Any:
        if request.method == "PUT":
            plan.replace(request.state.json)
        elif request.method == "PATCH":
            plan.patch(request.state.json)
        elif request.method == "DELETE":
            plan.replace({"seed": plan.seed})
        return plan.to_json()

    def requests(request: Request) -> Any:
        if request.method == "DELETE":
            log.reset()
        return log.to_json()

    def all_products(request: Request) -> Any:
        query = Query(limit=-1, order_sql="id ASC")
        if request.query_params.get("status"):
            query.add("status = ?", request.query_params["status"])
        if request.query_params.get("sku"):
            query.add("sku_lower = ?", request.query_params["sku"].lower())
        _, docs = services.store.query_products(query)
        return products.product_views(api(request), docs)

    def all_posts(request: Request) -> Any:
        post_type = services.config.post_type_by_base(request.query_params.get("type", "posts"))
        if post_type is None:
            raise ValueError("unknown post type REST base")
        query = Query(limit=-1, order_sql="id ASC")
        query.add("post_type = ?", post_type.name)
        _, docs = services.store.query_posts(query)
        return [wp_posts.post_view(api(request), post_type, d, True) for d in docs]

    def all_terms(request: Request) -> Any:
        taxonomy = request.query_params.get("taxonomy", "product_cat")
        query = Query(limit=-1, order_sql="id ASC")
        query.add("taxonomy = ?", taxonomy)
        _, found = services.store.query_terms(query)
        counts = services.store.term_counts([t["id"] for t in found])
        return [{**t, "count": counts.get(t["id"], 0)} for t in found]

    def all_media(request: Request) -> Any:
        return [wp_media.media_view(api(request), m) for m in services.store.list_media()]

    def config(request: Request) -> Any:
        if request.method == "PATCH":
            services.config.update(request.state.json)
        return services.config.to_dict()

    def reset(request: Request) -> Any:
        services.store.reset()
        services.auth.reset()
        log.reset()
        if not request.state.json.get("keep_faults"):
            plan.replace({"seed": plan.seed})
        return {"ok": True}

    def seed_categories(request: Request) -> Any:
        body = request.state.json
        tax = terms.CATEGORY if body.get("taxonomy") == "category" else terms.PRODUCT_CAT
        req, created = api(request, _ADMIN), []

        def plant(nodes: list[dict[str, Any]], parent: int) -> None:
            for node in nodes:
                term = terms.create_term(req, tax, {"name": node["name"], "parent": parent})
                created.append({"id": term["id"], "name": term["name"], "parent": parent})
                plant(node.get("children") or [], term["id"])

        with services.store.tx():
            plant(body.get("tree") or [], 0)
        return {"created": created}

    def seed_attributes(request: Request) -> Any:
        req, created = api(request, _ADMIN), []
        with services.store.tx():
            for item in request.state.json.get("attributes") or []:
                attribute = wc_terms_api.new_attribute(req, {"name": item["name"]})
                tax = terms.attribute_taxonomy(attribute["slug"])
                names = [terms.create_term(req, tax, {"name": n})["name"]
                         for n in item.get("terms") or []]
                created.append({"id": attribute["id"], "name": attribute["name"],
                                "slug": f"pa_{attribute['slug']}", "terms": names})
        return {"created": created}

    def seed_products(request: Request) -> Any:
        req, ids, errors = api(request, _ADMIN), [], []
        with services.store.tx():
            for index, item in enumerate(request.state.json.get("products") or []):
                try:
                    ids.append(products.create_product(req, item)["id"])
                except RestError as exc:
                    errors.append({"index": index, **exc.body()})
        return {"ids": ids, "errors": errors}

    routes = [
        ("/health", lambda request: {"ok": True}, ["GET"]),
        ("/faults", faults, ["GET", "PUT", "PATCH", "DELETE"]),
        ("/requests", requests, ["GET", "DELETE"]),
        ("/products", all_products, ["GET"]),
        ("/posts", all_posts, ["GET"]),
        ("/terms", all_terms, ["GET"]),
        ("/media", all_media, ["GET"]),
        ("/config", config, ["GET", "PATCH"]),
        ("/reset", reset, ["POST"]),
        ("/seed/categories", seed_categories, ["POST"]),
        ("/seed/attributes", seed_attributes, ["POST"]),
        ("/seed/products", seed_products, ["POST"]),
    ]
    return [*(Route(f"/__admin{path}", guard(fn), methods=methods)
              for path, fn, methods in routes), image_route()]
