"""Taxonomy terms for both APIs: product categories, tags and attribute terms (WooCommerce) and
post categories and tags (WordPress).

One implementation, two dialects (wc-api.md §5, §9, §12): a duplicate name (ignoring case)
under the same parent is 400 `term_exists`, carrying `resource_id` in WooCommerce and `term_id`
in WordPress; an unknown parent, an unknown id, a delete without `force=true` and the default
category each have their dialect's code. Names are stored HTML-escaped, slugs made unique.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from elementafeeds.sandbox.params import id_list, raise_if, read_paging, str_list, to_bool, to_int
from elementafeeds.sandbox.rest import ApiRequest, RestError, missing_params
from elementafeeds.sandbox.store import DEFAULT_POST_CATEGORY, DEFAULT_PRODUCT_CATEGORY, Query
from elementafeeds.sandbox.text import kses, slugify, term_name


@dataclass(frozen=True)
class Taxonomy:
    name: str
    hierarchical: bool
    flavour: str  # "wc" or "wp"
    default_term: int = 0


PRODUCT_CAT = Taxonomy("product_cat", True, "wc", DEFAULT_PRODUCT_CATEGORY)
PRODUCT_TAG = Taxonomy("product_tag", False, "wc")
CATEGORY = Taxonomy("category", True, "wp", DEFAULT_POST_CATEGORY)
POST_TAG = Taxonomy("post_tag", False, "wp")


def attribute_taxonomy(slug: str) -> Taxonomy:
    return Taxonomy(f"pa_{slug}", False, "wc")


_ERRORS: dict[str, dict[str, tuple[str, str, int]]] = {
    "wc": {
        "not_found": ("woocommerce_rest_term_invalid", "Resource does not exist.", 404),
        "no_parent": ("woocommerce_rest_term_invalid", "Parent resource does not exist.", 404),
        "flat": ("woocommerce_rest_taxonomy_not_hierarchical",
                 "Can not set resource parent, taxonomy is not hierarchical.", 400),
        "trash": ("woocommerce_rest_trash_not_supported", "Resource does not support trashing.",
                  501),
        "default": ("woocommerce_rest_cannot_delete",
                    "Default product category cannot be deleted.", 500),
    },
    "wp": {
        "not_found": ("rest_term_invalid", "Term does not exist.", 404),
        "no_parent": ("rest_term_invalid", "Parent term does not exist.", 400),
        "flat": ("rest_taxonomy_not_hierarchical",
                 "Cannot set parent term, taxonomy is not hierarchical.", 400),
        "trash": ("rest_trash_not_supported",
                  "Terms do not support trashing. Set 'force' to true to delete.", 501),
        "default": ("rest_cannot_delete", "Sorry, you are not allowed to delete this term.", 403),
    },
}


def term_error(tax: Taxonomy, key: str) -> RestError:
    code, message, status = _ERRORS[tax.flavour][key]
    return RestError(code, message, status)


def ensure_term(req: ApiRequest, taxonomy: str, name: str) -> dict[str, Any]:
    """The term of that name (any case), created if missing — for product tags by name and
    global attribute options."""
    stored = term_name(name)
    found = req.store.find_term(taxonomy, stored)
    if found is not None:
        return found
    term = {"taxonomy": taxonomy, "name": stored, "parent": 0, "description": "",
            "menu_order": 0, "slug": _unique_slug(req, taxonomy, slugify(stored) or "term")}
    term["id"] = req.store.save_term(term)
    return term


def _unique_slug(req: ApiRequest, taxonomy: str, slug: str, exclude_id: int = 0) -> str:
    candidate, n = slug, 2
    while req.store.term_slug_taken(taxonomy, candidate, exclude_id):
        candidate, n = f"{slug}-{n}", n + 1
    return candidate


def get_term(req: ApiRequest, tax: Taxonomy, term_id: int) -> dict[str, Any]:
    term = req.store.get_term(term_id, tax.name)
    if term is None:
        raise term_error(tax, "not_found")
    return term


def _parent(req: ApiRequest, tax: Taxonomy, body: dict[str, Any]) -> int | None:
    if "parent" not in body:
        return None
    if not tax.hierarchical:
        raise term_error(tax, "flat")
    parent = to_int(body["parent"]) or 0
    if parent and req.store.get_term(parent, tax.name) is None:
        raise term_error(tax, "no_parent")
    return parent


def create_term(req: ApiRequest, tax: Taxonomy, body: Any) -> dict[str, Any]:
    body = body if isinstance(body, dict) else {}
    if not isinstance(body.get("name"), str) or not body["name"].strip():
        raise missing_params(["name"])
    name = term_name(body["name"])
    parent = _parent(req, tax, body) or 0
    existing = req.store.find_term(tax.name, name, parent if tax.hierarchical else None)
    if existing is not None:
        where = "with this parent" if tax.hierarchical else "in this taxonomy"
        key = "resource_id" if tax.flavour == "wc" else "term_id"
        raise RestError("term_exists", f"A term with the name provided already exists {where}.",
                        400, **{key: existing["id"]})
    slug = slugify(str(body.get("slug") or "")) or slugify(name) or "term"
    term = {"taxonomy": tax.name, "name": name, "parent": parent,
            "slug": _unique_slug(req, tax.name, slug)}
    _extras(term, body, {"description": "", "display": "default", "menu_order": 0})
    term["id"] = req.store.save_term(term)
    return term


def update_term(req: ApiRequest, tax: Taxonomy, term_id: int, body: Any) -> dict[str, Any]:
    body = body if isinstance(body, dict) else {}
    term = get_term(req, tax, term_id)
    if isinstance(body.get("name"), str) and body["name"].strip():
        term["name"] = term_name(body["name"])
    parent = _parent(req, tax, body)
    if parent is not None:
        term["parent"] = parent
    if body.get("slug"):
        slug = slugify(str(body["slug"]))
        if req.store.term_slug_taken(tax.name, slug, term_id):
            raise RestError("duplicate_term_slug",
                            f"The slug \u201c{slug}\u201d is already in use by another term.")
        term["slug"] = slug
    _extras(term, body, {})
    req.store.save_term(term)
    return term


def _extras(term: dict[str, Any], body: dict[str, Any], defaults: dict[str, Any]) -> None:
    for name, default in defaults.items():
        term.setdefault(name, default)
    if isinstance(body.get("description"), str):
        term["description"] = kses(body["description"])
    if body.get("display") in ("default", "products", "subcategories", "both"):
        term["display"] = body["display"]
    if to_int(body.get("menu_order")) is not None:
        term["menu_order"] = to_int(body["menu_order"])


def delete_term(req: ApiRequest, tax: Taxonomy, term_id: int, force: bool) -> dict[str, Any]:
    """Deletes for good and returns the term as it was; terms have no trash."""
    term = get_term(req, tax, term_id)
    if not force:
        raise term_error(tax, "trash")
    if tax.default_term and term_id == tax.default_term:
        raise term_error(tax, "default")
    view = term_view(req, tax, term, "")
    req.store.delete_term(term_id)
    return view


def list_terms(req: ApiRequest, tax: Taxonomy) -> tuple[int, list[dict[str, Any]], Any]:
    """Terms with the collection parameters of WC-Terms / WP-Terms; past the end is `[]`."""
    params = req.query
    errors: dict[str, str] = {}
    page = read_paging(params, errors, default_orderby="name", default_order="asc",
                       orderby=("id", "include", "name", "slug", "include_slugs",
                                "term_group", "description", "count"))
    raise_if(errors)
    query = Query(limit=page.per_page, offset=page.skip)
    query.add("taxonomy = ?", tax.name)
    if params.get("search"):
        like = f"%{params['search']}%"
        query.add("(name LIKE ? OR slug LIKE ?)", like, like)
    if id_list(params.get("include")):
        query.add_in("id", id_list(params["include"]))
    if id_list(params.get("exclude")):
        query.add_in("id", id_list(params["exclude"]), negate=True)
    if tax.hierarchical and to_int(params.get("parent")) is not None:
        query.add("parent = ?", to_int(params["parent"]))
    if str_list(params.get("slug")):
        query.add_in("slug", str_list(params["slug"]))
    if to_int(params.get("product") or params.get("post")):
        query.add("id IN (SELECT term_id FROM object_terms WHERE object_id = ?)",
                  to_int(params.get("product") or params.get("post")))
    count_sql = ("(SELECT COUNT(*) FROM object_terms o WHERE o.term_id = terms.id "
                 "AND o.status = 'publish')")
    if to_bool(params.get("hide_empty")):
        query.add(f"{count_sql} > 0")
    direction = "DESC" if page.order == "desc" else "ASC"
    column = {"id": "id", "slug": "slug", "count": count_sql,
              "description": "json_extract(doc, '$.description')"}.get(page.orderby, "name_lower")
    if page.orderby == "include" and id_list(params.get("include")):
        column = f"instr(',{','.join(map(str, id_list(params['include'])))},', ',' || id || ',')"
    query.order_sql = f"{column} {direction}, id {direction}"
    total, terms = req.store.query_terms(query)
    return total, terms, page


def term_views(req: ApiRequest, tax: Taxonomy, terms: list[dict[str, Any]], collection: str
               ) -> list[dict[str, Any]]:
    counts = req.store.term_counts([t["id"] for t in terms])
    return [term_view(req, tax, t, collection, counts.get(t["id"], 0)) for t in terms]


def term_view(req: ApiRequest, tax: Taxonomy, term: dict[str, Any], collection: str,
              count: int | None = None) -> dict[str, Any]:
    """A term as the dialect's controller prepares it (edit context)."""
    if count is None:
        count = req.store.term_counts([term["id"]]).get(term["id"], 0)
    links = {"self": [{"href": f"{req.site_url}/wp-json{collection}/{term['id']}"}],
             "collection": [{"href": f"{req.site_url}/wp-json{collection}"}]}
    if tax.flavour == "wp":
        view: dict[str, Any] = {
            "id": term["id"], "count": count, "description": term.get("description", ""),
            "link": f"{req.site_url}/{tax.name.replace('post_', '')}/{term['slug']}/",
            "name": term["name"], "slug": term["slug"], "taxonomy": tax.name}
        if tax.hierarchical:
            view["parent"] = term["parent"]
        view["meta"] = []
    elif tax.name == "product_cat":
        view = {"id": term["id"], "name": term["name"], "slug": term["slug"],
                "parent": term["parent"], "description": term.get("description", ""),
                "display": term.get("display", "default"), "image": None,
                "menu_order": term.get("menu_order", 0), "count": count}
    elif tax.name == "product_tag":
        view = {"id": term["id"], "name": term["name"], "slug": term["slug"],
                "description": term.get("description", ""), "count": count}
    else:
        view = {"id": term["id"], "name": term["name"], "slug": term["slug"],
                "description": term.get("description", ""),
                "menu_order": term.get("menu_order", 0), "count": count}
    view["_links"] = links
    return view
