"""WordPress posts and custom post types (wc-api.md §7, §9, §12).

The behaviours a syncing client trips over are kept: a draft has slug `''`; a future date turns
`publish` into `future`; an all-digit slug gets `-2`; unknown category ids are dropped (and with
none left the post has no category, while sending none gives "Uncategorized"); unregistered
meta keys are dropped; a registered key of the wrong type answers 400 `rest_invalid_type`
*after* the post was created and its other meta saved; trash renames the slug `…__trashed`.
"""

from __future__ import annotations

import re
from typing import Any

from elementafeeds.sandbox.config import PostType
from elementafeeds.sandbox.params import (
    check_enum,
    id_list,
    raise_if,
    read_paging,
    str_list,
    to_bool,
    to_int,
)
from elementafeeds.sandbox.rest import ApiRequest, RestError
from elementafeeds.sandbox.store import DEFAULT_POST_CATEGORY, Query
from elementafeeds.sandbox.text import kses, now_iso, parse_date, slugify

STATUSES = ("publish", "future", "draft", "pending", "private")
ORDERBY = ("author", "date", "id", "include", "modified", "parent", "relevance", "slug",
           "include_slugs", "title")
_META_DEFAULTS = {"string": "", "integer": 0, "number": 0, "boolean": False}


def not_found() -> RestError:
    return RestError("rest_post_invalid_id", "Invalid post ID.", 404)


def get_post(req: ApiRequest, post_type: PostType, post_id: int) -> dict[str, Any]:
    doc = req.store.get_post(post_id, post_type.name)
    if doc is None:
        raise not_found()
    return doc


def validate_body(req: ApiRequest, post_type: PostType) -> None:
    """Route-argument checks of a create/update; meta values are checked later, on save."""
    body = req.body if isinstance(req.body, dict) else {}
    errors: dict[str, str] = {}
    check_enum(body, "status", STATUSES, errors)
    check_enum(body, "comment_status", ("open", "closed"), errors)
    check_enum(body, "ping_status", ("open", "closed"), errors)
    for name in ("slug", "password", "template"):
        if name in body and not isinstance(body[name], str):
            errors[name] = f"{name} is not of type string."
    for name in ("author", "featured_media"):
        if name in body and to_int(body[name]) is None:
            errors[name] = f"{name} is not of type integer."
    if "date" in body and body["date"] is not None and parse_date(body["date"]) is None:
        errors["date"] = "Invalid date."
    if "meta" in body and not isinstance(body["meta"], dict):
        errors["meta"] = "meta is not of type object."
    if post_type.rest_base == "posts":
        for name in ("categories", "tags"):
            value = body.get(name)
            if value is None:
                continue
            if not isinstance(value, list):
                errors[name] = f"{name} is not of type array."
            for index, item in enumerate(value if isinstance(value, list) else []):
                if to_int(item) is None:
                    errors[name] = f"{name}[{index}] is not of type integer."
                    break
    raise_if(errors)


def _raw(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("raw"), str):
        return value["raw"]
    return None


def save_post(req: ApiRequest, post_type: PostType, doc: dict[str, Any] | None,
              body: dict[str, Any]) -> dict[str, Any]:
    """Create (doc None) or update a post, then its terms, featured image and meta — in
    WordPress's order, so a failure after the insert leaves the post in place."""
    now = now_iso()
    creating = doc is None
    if doc is None:
        if body.get("id"):
            raise RestError("rest_post_exists", "Cannot create existing post.")
        doc = {"id": req.store.next_id("post"), "post_type": post_type.name, "status": "draft",
               "slug": "", "title": "", "content": "", "excerpt": "", "date": now,
               "modified": now, "author": req.identity.user_id, "featured_media": 0,
               "comment_status": "open", "ping_status": "open", "sticky": False,
               "template": "", "format": "standard", "meta": {}, "categories": [], "tags": []}
    for name in ("title", "content", "excerpt"):
        if _raw(body.get(name)) is not None:
            doc[name] = kses(_raw(body[name]) or "")
    for name in ("comment_status", "ping_status", "template", "format"):
        if isinstance(body.get(name), str):
            doc[name] = body[name]
    if to_bool(body.get("sticky")) is not None:
        doc["sticky"] = bool(to_bool(body["sticky"]))
    if parse_date(body.get("date")):
        doc["date"] = parse_date(body["date"])
    if body.get("status"):
        doc["status"] = body["status"]
    if doc["status"] == "publish" and doc["date"] > now:
        doc["status"] = "future"
    if isinstance(body.get("slug"), str) and body["slug"]:
        doc["slug"] = slugify(body["slug"])
    _finish_slug(req, doc)
    doc["modified"] = now
    req.store.save_post(doc)
    if post_type.rest_base == "posts":
        _assign_terms(req, doc, body, creating)
    req.store.set_object_terms(doc["id"], doc["categories"] + doc["tags"], doc["status"])
    if "featured_media" in body:
        media_id = to_int(body["featured_media"]) or 0
        if media_id and req.store.get_media(media_id) is None:
            raise RestError("rest_invalid_featured_media", "Invalid featured media ID.")
        doc["featured_media"] = media_id
        req.store.save_post(doc)
    if isinstance(body.get("meta"), dict):
        _update_meta(req, doc, body["meta"])
    return doc


def _finish_slug(req: ApiRequest, doc: dict[str, Any]) -> None:
    if doc["status"] in ("draft", "pending", "auto-draft"):
        return  # wp_insert_post leaves post_name empty until the post is published
    slug = doc["slug"] or slugify(doc["title"]) or str(doc["id"])
    if re.fullmatch(r"\d+", slug):
        slug = f"{slug}-2"
    candidate, n = slug, 2
    while req.store.post_slug_taken(doc["post_type"], candidate, doc["id"]):
        candidate, n = f"{slug}-{n}", n + 1
    doc["slug"] = candidate


def _assign_terms(req: ApiRequest, doc: dict[str, Any], body: dict[str, Any],
                  creating: bool) -> None:
    for name, taxonomy in (("categories", "category"), ("tags", "post_tag")):
        if isinstance(body.get(name), list):
            wanted = [abs(to_int(i) or 0) for i in body[name]]
            known = req.store.terms_by_ids(wanted)
            doc[name] = [i for i in dict.fromkeys(wanted)
                         if i in known and known[i]["taxonomy"] == taxonomy]
    if creating and not isinstance(body.get("categories"), list):
        doc["categories"] = [DEFAULT_POST_CATEGORY]
    req.store.save_post(doc)


def _meta_valid(kind: str, value: Any) -> tuple[bool, Any]:
    """(ok, sanitised value) by `rest_validate_value_from_schema` for the registered type."""
    if kind == "string":
        return isinstance(value, str), value
    if kind == "integer":
        return to_int(value) is not None, to_int(value)
    if kind == "boolean":
        return to_bool(value) is not None, to_bool(value)
    try:
        return not isinstance(value, bool), float(value)
    except (TypeError, ValueError):
        return False, value


def _update_meta(req: ApiRequest, doc: dict[str, Any], meta: dict[str, Any]) -> None:
    registered = req.config.meta_keys
    error = None
    for key, value in meta.items():
        if key not in registered:
            continue  # unregistered keys are dropped silently
        if value is None:
            doc["meta"].pop(key, None)
            continue
        ok, clean = _meta_valid(registered[key], value)
        if not ok:
            error = error or RestError(
                "rest_invalid_type", f"meta.{key} is not of type {registered[key]}.", 400)
            continue
        doc["meta"][key] = clean
    req.store.save_post(doc)
    if error is not None:
        raise error


def trash_post(req: ApiRequest, doc: dict[str, Any]) -> dict[str, Any]:
    if doc["status"] == "trash":
        raise RestError("rest_already_trashed", "The post has already been deleted.", 410)
    doc["trashed_from"] = doc["status"]
    doc["status"] = "trash"
    doc["slug"] = f"{doc['slug']}__trashed" if doc["slug"] else ""
    doc["modified"] = now_iso()
    req.store.save_post(doc)
    req.store.set_object_terms(doc["id"], doc["categories"] + doc["tags"], "trash")
    return doc


def list_posts(req: ApiRequest, post_type: PostType) -> tuple[int, list[dict[str, Any]], Any]:
    params = req.query
    errors: dict[str, str] = {}
    page = read_paging(params, errors, orderby=ORDERBY, default_orderby="date",
                       default_order="desc")
    statuses = str_list(params.get("status")) or ["publish"]
    allowed = (*STATUSES, "trash", "any")
    if any(s not in allowed for s in statuses):
        errors["status"] = f"status[0] is not one of {', '.join(allowed)}."
    elif not req.identity.can_manage and any(s != "publish" for s in statuses):
        errors["status"] = "Status is forbidden."
    raise_if(errors)
    query = Query(limit=page.per_page, offset=page.skip)
    query.add("post_type = ?", post_type.name)
    if "any" in statuses:
        query.add("status != 'trash'")
    else:
        query.add_in("status", statuses)
    if params.get("search"):
        like = f"%{params['search']}%"
        query.add("(title LIKE ? OR json_extract(doc, '$.content') LIKE ? OR "
                  "json_extract(doc, '$.excerpt') LIKE ?)", like, like, like)
    for name, negate in (("include", False), ("exclude", True)):
        if id_list(params.get(name)):
            query.add_in("id", id_list(params[name]), negate)
    if str_list(params.get("slug")):
        query.add_in("slug", str_list(params["slug"]))
    for name in ("categories", "tags"):
        if id_list(params.get(name)):
            query.add_terms(id_list(params[name]))
    for name, column, op in (("after", "date", ">"), ("before", "date", "<"),
                             ("modified_after", "modified", ">"),
                             ("modified_before", "modified", "<")):
        if parse_date(params.get(name)):
            query.add(f"{column} {op} ?", parse_date(params[name]))
    way = "DESC" if page.order == "desc" else "ASC"
    column = {"id": "id", "title": "title COLLATE NOCASE", "slug": "slug",
              "modified": "modified"}.get(page.orderby, "date")
    query.order_sql = f"{column} {way}, id {way}"
    total, docs = req.store.query_posts(query)
    max_pages = -(-total // page.per_page)
    if total > 0 and page.page > max_pages:
        raise RestError("rest_post_invalid_page_number",
                        "The page number requested is larger than the number of pages "
                        "available.", 400)
    return total, docs, page


def _rendered(text: str) -> str:
    if not text.strip():
        return ""
    if text.lstrip().startswith("<"):
        return text
    return "".join(f"<p>{part.strip()}</p>\n" for part in re.split(r"\n\s*\n", text)
                   if part.strip())


def post_view(req: ApiRequest, post_type: PostType, doc: dict[str, Any], edit: bool
              ) -> dict[str, Any]:
    """A post as WP-Posts prepares it; `raw` fields only in the edit context."""
    site, pid = req.site_url, doc["id"]
    if doc["status"] == "publish":
        prefix = "" if post_type.rest_base == "posts" else f"/{post_type.name}"
        link = f"{site}{prefix}/{doc['slug']}/"
    else:
        type_arg = "" if post_type.rest_base == "posts" else f"post_type={post_type.name}&"
        link = f"{site}/?{type_arg}p={pid}"

    def field(name: str, rendered: str) -> dict[str, Any]:
        out: dict[str, Any] = {"raw": doc[name]} if edit else {}
        out["rendered"] = rendered
        if name != "title":
            out["protected"] = False
        return out

    meta = {key: doc["meta"].get(key, _META_DEFAULTS[kind])
            for key, kind in req.config.meta_keys.items()}
    view: dict[str, Any] = {
        "id": pid, "date": doc["date"], "date_gmt": doc["date"],
        "guid": {"rendered": f"{site}/?p={pid}"}, "modified": doc["modified"],
        "modified_gmt": doc["modified"], "slug": doc["slug"], "status": doc["status"],
        "type": post_type.name, "link": link, "title": field("title", doc["title"]),
        "content": field("content", _rendered(doc["content"])),
        "excerpt": field("excerpt", _rendered(doc["excerpt"])), "author": doc["author"],
        "featured_media": doc["featured_media"], "comment_status": doc["comment_status"],
        "ping_status": doc["ping_status"], "template": doc["template"], "meta": meta,
    }
    if post_type.rest_base == "posts":
        view.update(sticky=doc["sticky"], format=doc["format"], categories=doc["categories"],
                    tags=doc["tags"])
    base = f"{site}/wp-json/wp/v2/{post_type.rest_base}"
    view["_links"] = {"self": [{"href": f"{base}/{pid}"}], "collection": [{"href": base}]}
    return view
