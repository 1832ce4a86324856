"""Conformance of the sandbox with ../shared/wc-api.md, over HTTP — the WooCommerce side.

Each test names the section of wc-api.md it checks (§11/§12 are observations of a real store
and override the code reading). This module covers §1–§4; `test_conformance_terms_auth.py`
covers §5–§8 and `test_conformance_wordpress.py` the WordPress side.

Left out on purpose (the sandbox does not implement them):
- variations (`/products/<id>/variations`, `type: variation` rows in `?sku=` results), grouped
  and variable product specifics beyond clearing their prices, downloads validation;
- `search_fields`, `search_name_or_sku`, `include_meta`/`exclude_meta`, `_fields`,
  `attribute`+`attribute_term`, `shipping_class`, `on_sale`, `dates_are_gmt`,
  `include_status`/`exclude_status`, `include_types`/`exclude_types` filters;
- WC ≥10.5 response caching (ETag, `X-WC-Cache`, 304);
- the `view` context (products are always shown as in `edit`: raw description);
- image downloads themselves: no fetch, no mime/extension check, no 300 s timeout
  (use the latency faults); `woocommerce_rest_suppress_image_upload_error`;
- the v2 placeholder image (§4 cites v2; v3's `get_images` adds none, and neither do we);
- trash disabled (501 `woocommerce_rest_trash_not_supported` for products);
- WooCommerce ≥11.1 rejecting keys on `/wp/v2` (10.0.2 ignores them: anonymous);
- SKU bypass through `meta_data` `_sku` (routed to the checked setter instead), GTIN
  uniqueness, `product_invalid_global_unique_id*`;
- ModSecurity 501 and `X-HTTP-Method-Override` quirks beyond `_method`/the header on POST;
- the timings of §11 (use the latency faults to simulate them).
"""

from __future__ import annotations

import httpx

from elementafeeds.sandbox.testing import SandboxHandle


def make(wc: httpx.Client, **fields: object) -> dict:
    response = wc.post("/products", json={"name": "Thing", "regular_price": "9.90", **fields})
    assert response.status_code == 201, response.text
    return response.json()


def error_of(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["code"]


# --- §1 batch -------------------------------------------------------------------------------


def test_batch_runs_create_update_delete_and_answers_200(wc: httpx.Client) -> None:
    """§1: one request, keys only for actions sent; batch delete is permanent (force)."""
    a, b = make(wc, sku="A"), make(wc, sku="B")
    r = wc.post("/products/batch", json={"create": [{"name": "C", "sku": "C"}],
                                         "update": [{"id": a["id"], "name": "A2"}],
                                         "delete": [b["id"]]})
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"create", "update", "delete"}
    assert body["create"][0]["sku"] == "C" and body["update"][0]["name"] == "A2"
    assert body["delete"][0]["id"] == b["id"]
    assert wc.get(f"/products/{b['id']}").status_code == 404
    assert set(wc.post("/products/batch", json={"update": [{"id": a["id"]}]}).json()) == {
        "update"}


def test_batch_over_100_items_is_413_and_nothing_applied(wc: httpx.Client,
                                                         site: SandboxHandle) -> None:
    """§1: create+update+delete counted together; above 100 the whole request is 413."""
    r = wc.post("/products/batch", json={"create": [{"name": f"p{i}"} for i in range(60)],
                                         "delete": list(range(1, 42))})
    assert error_of(r) == (413, "woocommerce_rest_request_entity_too_large")
    assert r.json()["message"] == "Unable to accept more than 100 items for this request."
    assert site.products() == []
    ok = wc.post("/products/batch", json={"create": [{"name": f"p{i}"} for i in range(100)]})
    assert ok.status_code == 200 and len(ok.json()["create"]) == 100


def test_batch_item_errors_are_in_place_with_the_real_shape(wc: httpx.Client) -> None:
    """§1: create error `{"id":0,"error":{code,message,data}}`; update keeps the id as sent
    (400); delete of an unknown id is 404; id 0 in delete is skipped silently."""
    owner = make(wc, sku="DUP")
    body = wc.post("/products/batch", json={
        "create": [{"name": "x", "sku": "dup"}, {"name": "ok"}],
        "update": [{"id": "999999", "name": "nope"}],
        "delete": [0, 888888]}).json()
    failed = body["create"][0]
    assert failed["id"] == 0
    assert failed["error"] == {"code": "product_invalid_sku",
                               "message": "Invalid or duplicated SKU.",
                               "data": {"status": 400, "resource_id": owner["id"],
                                        "unique_sku": "dup-1"}}
    assert body["create"][1]["name"] == "ok"
    assert body["update"][0]["id"] == "999999"
    assert body["update"][0]["error"]["code"] == "woocommerce_rest_product_invalid_id"
    assert body["update"][0]["error"]["data"]["status"] == 400
    assert body["delete"] == [{"id": 888888, "error": {
        "code": "woocommerce_rest_product_invalid_id", "message": "Invalid ID.",
        "data": {"status": 404}}}]


def test_empty_batch_is_an_empty_list(wc: httpx.Client) -> None:
    """§1: empty arrays count as absent; an empty batch returns `[]`."""
    r = wc.post("/products/batch", json={"create": [], "update": []})
    assert r.status_code == 200 and r.json() == []


def test_batch_items_skip_type_validation(wc: httpx.Client) -> None:
    """§1/§11: a numeric price is accepted in a batch; an invalid status becomes draft; a
    create with an id is `woocommerce_rest_product_exists`."""
    body = wc.post("/products/batch", json={"create": [
        {"name": "n", "regular_price": 12.5, "status": "bogus"},
        {"id": 5, "name": "exists"}]}).json()["create"]
    assert body[0]["regular_price"] == "12.5" and body[0]["status"] == "draft"
    assert body[1]["error"]["code"] == "woocommerce_rest_product_exists"


def test_batch_put_and_patch_are_accepted(wc: httpx.Client) -> None:
    """§1: the batch route is EDITABLE: POST, PUT and PATCH."""
    for method in ("PUT", "PATCH"):
        r = wc.request(method, "/products/batch", json={"create": [{"name": method}]})
        assert r.status_code == 200 and r.json()["create"][0]["name"] == method


def test_batch_anonymous_is_cannot_batch(anon: httpx.Client) -> None:
    """§1/§6: only `woocommerce_rest_cannot_batch` is checked up front."""
    r = anon.post("/wc/v3/products/batch", json={"create": [{"name": "x"}]})
    assert error_of(r) == (401, "woocommerce_rest_cannot_batch")


# --- §2 SKU ---------------------------------------------------------------------------------


def test_duplicate_sku_on_create_is_400_with_resource_id(wc: httpx.Client) -> None:
    """§2: `product_invalid_sku` (no woocommerce_rest_ prefix), resource_id, unique_sku."""
    owner = make(wc, sku="ABC")
    r = wc.post("/products", json={"name": "again", "sku": "ABC"})
    assert r.status_code == 400
    assert r.json() == {"code": "product_invalid_sku", "message": "Invalid or duplicated SKU.",
                        "data": {"status": 400, "resource_id": owner["id"],
                                 "unique_sku": "ABC-1"}}


def test_sku_uniqueness_ignores_case_and_allows_empty(wc: httpx.Client) -> None:
    """§2/§11: `dup-x` collides with `DUP-x`; empty SKUs may repeat."""
    make(wc, sku="dup-x")
    assert wc.post("/products", json={"sku": "DUP-x"}).json()["code"] == "product_invalid_sku"
    make(wc, sku="")
    make(wc, sku="")


def test_sku_duplicate_inside_one_batch_first_wins(wc: httpx.Client) -> None:
    """§2/§11: the first item is created, the second fails with resource_id = the first."""
    body = wc.post("/products/batch", json={"create": [{"sku": "S1"}, {"sku": "s1"}]}).json()
    first, second = body["create"]
    assert first["sku"] == "S1"
    assert second["error"]["data"]["resource_id"] == first["id"]


def test_sku_check_runs_on_update_and_counts_drafts(wc: httpx.Client) -> None:
    """§2: the check applies on update too; drafts block a SKU."""
    draft = make(wc, sku="DRAFTY", status="draft")
    other = make(wc, sku="OTHER")
    r = wc.put(f"/products/{other['id']}", json={"sku": "drafty"})
    assert r.status_code == 400 and r.json()["data"]["resource_id"] == draft["id"]
    assert wc.put(f"/products/{other['id']}", json={"sku": "OTHER"}).status_code == 200


def test_trashed_sku_blocks_create_with_lookup_table_error(wc: httpx.Client) -> None:
    """§11: a trashed product's SKU → 400 `woocommerce_rest_product_not_created`;
    `?sku=` does not list the trashed product, `status=trash` does."""
    gone = make(wc, sku="TRASHED")
    wc.delete(f"/products/{gone['id']}")
    r = wc.post("/products", json={"sku": "TRASHED"})
    assert error_of(r) == (400, "woocommerce_rest_product_not_created")
    assert "already present in the lookup table" in r.json()["message"]
    assert wc.get("/products", params={"sku": "TRASHED"}).json() == []
    trashed = wc.get("/products", params={"sku": "TRASHED", "status": "trash"}).json()
    assert [p["id"] for p in trashed] == [gone["id"]]


def test_sku_is_cleaned(wc: httpx.Client) -> None:
    """§2: the SKU passes through wc_clean: tags stripped, trimmed."""
    assert make(wc, sku="  <b>X-1</b> ")["sku"] == "X-1"


# --- §3 listing ----------------------------------------------------------------------------


def test_per_page_outside_1_to_100_is_rest_invalid_param(wc: httpx.Client,
                                                         anon: httpx.Client) -> None:
    """§3/§10/§11: per_page=101 → 400 with the WordPress params message, before auth."""
    r = wc.get("/products", params={"per_page": 101})
    assert error_of(r) == (400, "rest_invalid_param")
    assert r.json()["message"] == "Invalid parameter(s): per_page"
    assert r.json()["data"]["params"] == {
        "per_page": "per_page must be between 1 (inclusive) and 100 (inclusive)"}
    assert wc.get("/products", params={"per_page": 0}).status_code == 400
    assert anon.get("/wc/v3/products", params={"per_page": 101}).status_code == 400


def test_paging_headers_and_link_prev_next_only(wc: httpx.Client, site: SandboxHandle) -> None:
    """§3/§11: X-WP-Total, X-WP-TotalPages, Link with prev/next only, arguments carried."""
    site.seed_products([{"name": f"p{i}"} for i in range(25)])
    r = wc.get("/products", params={"per_page": 10, "page": 2, "orderby": "id"})
    assert r.headers["X-WP-Total"] == "25" and r.headers["X-WP-TotalPages"] == "3"
    link = r.headers["Link"]
    assert 'rel="prev"' in link and 'rel="next"' in link and "first" not in link
    assert "orderby=id" in link and "page=3" in link and "page=1" in link
    last = wc.get("/products", params={"per_page": 10, "page": 3})
    assert 'rel="next"' not in last.headers["Link"] and len(last.json()) == 5


def test_page_past_the_end_is_200_empty(wc: httpx.Client) -> None:
    """§3/§10: WooCommerce answers 200 [] past the end, X-WP-Total still right."""
    make(wc)
    r = wc.get("/products", params={"page": 9})
    assert r.status_code == 200 and r.json() == [] and r.headers["X-WP-Total"] == "1"


def test_sku_filter_is_exact_with_comma_lists(wc: httpx.Client) -> None:
    """§3/§11: exact match, `sku=a,b` works, drafts found, a miss is 200 [] with total 0."""
    a, b = make(wc, sku="a-1"), make(wc, sku="b-1", status="draft")
    make(wc, sku="a-10")
    found = wc.get("/products", params={"sku": "a-1,b-1"}).json()
    assert sorted(p["id"] for p in found) == sorted([a["id"], b["id"]])
    miss = wc.get("/products", params={"sku": "zzz"})
    assert miss.json() == [] and miss.headers["X-WP-Total"] == "0"


def test_search_matches_text_not_sku(wc: httpx.Client) -> None:
    """§3: `search` looks in title, excerpt and content, not the SKU."""
    hit = make(wc, name="Blue kettle", sku="K-42")
    make(wc, name="Cup", description="for the blue hour")
    assert len(wc.get("/products", params={"search": "blue"}).json()) == 2
    assert wc.get("/products", params={"search": "K-42"}).json() == []
    assert wc.get("/products", params={"search": "kettle"}).json()[0]["id"] == hit["id"]


def test_orderby_id_walks_every_product_once(wc: httpx.Client, site: SandboxHandle) -> None:
    """§11: page with orderby=id (the default date order is unstable within a second)."""
    ids = site.seed_products([{"name": f"p{i}"} for i in range(23)])
    seen = []
    for page in (1, 2, 3):
        seen += [p["id"] for p in wc.get("/products", params={
            "orderby": "id", "order": "asc", "per_page": 10, "page": page}).json()]
    assert seen == sorted(ids)


def test_status_include_and_enum_checks(wc: httpx.Client) -> None:
    """§3: status default any (not trash), `include` ids, an unknown orderby is 400."""
    a, b = make(wc), make(wc, status="draft")
    wc.delete(f"/products/{a['id']}")
    assert [p["id"] for p in wc.get("/products").json()] == [b["id"]]
    assert wc.get("/products", params={"status": "draft"}).json()[0]["id"] == b["id"]
    assert wc.get("/products", params={"include": f"{b['id']}"}).json()[0]["id"] == b["id"]
    assert wc.get("/products", params={"orderby": "nope"}).status_code == 400


# --- §4 fields -----------------------------------------------------------------------------


def test_create_is_201_with_location_and_defaults(wc: httpx.Client) -> None:
    """§4/§10: 201 + Location; simple, publish, visible, instock, "Product", Uncategorized."""
    r = wc.post("/products", json={})
    assert r.status_code == 201
    p = r.json()
    assert r.headers["Location"].endswith(f"/wp-json/wc/v3/products/{p['id']}")
    assert (p["type"], p["status"], p["catalog_visibility"], p["stock_status"], p["name"]) == (
        "simple", "publish", "visible", "instock", "Product")
    assert p["categories"] == [{"id": 15, "name": "Uncategorized", "slug": "uncategorized"}]


def test_numeric_price_on_single_endpoint_is_400(wc: httpx.Client) -> None:
    """§4/§11: prices are strings; a JSON number on a single endpoint is rest_invalid_param."""
    r = wc.post("/products", json={"name": "x", "regular_price": 12.99})
    assert error_of(r) == (400, "rest_invalid_param")
    assert r.json()["data"]["params"] == {"regular_price": "regular_price is not of type string."}
    p = make(wc)
    assert wc.put(f"/products/{p['id']}", json={"sale_price": 1}).status_code == 400
    assert isinstance(p["price"], str) and p["price"] == "9.90"


def test_unknown_category_or_name_only_lands_in_uncategorized(wc: httpx.Client,
                                                             site: SandboxHandle) -> None:
    """§4/§11: categories by id only; unknown ids dropped; empty set → Uncategorized."""
    shoes = site.seed_categories([{"name": "Shoes"}])[0]
    assert make(wc, categories=[{"id": 987654}])["categories"][0]["id"] == 15
    assert make(wc, categories=[{"name": "Shoes"}])["categories"][0]["id"] == 15
    p = make(wc, categories=[{"id": shoes["id"]}, {"id": 987654}])
    assert [c["id"] for c in p["categories"]] == [shoes["id"]]


def test_meta_data_is_merged_by_key(wc: httpx.Client) -> None:
    """§4: keys not sent are kept, a sent key updates the first row, null deletes."""
    p = make(wc, meta_data=[{"key": "a", "value": "1"}, {"key": "b", "value": "2"},
                            {"key": "c", "value": "3"}])
    meta = wc.put(f"/products/{p['id']}", json={"meta_data": [
        {"key": "a", "value": "10"}, {"key": "c", "value": None},
        {"key": "d", "value": {"x": 1}}]}).json()["meta_data"]
    assert {m["key"]: m["value"] for m in meta} == {"a": "10", "b": "2", "d": {"x": 1}}
    first_a = next(m for m in p["meta_data"] if m["key"] == "a")
    assert next(m for m in meta if m["key"] == "a")["id"] == first_a["id"]


def test_read_only_and_unknown_fields_are_ignored(wc: httpx.Client) -> None:
    """§4: price, permalink, on_sale … and unknown body fields are ignored silently."""
    p = make(wc, price="1.00", permalink="http://evil/", on_sale=True, total_sales=99,
             wibble="x")
    assert p["price"] == "9.90" and p["total_sales"] == 0 and "wibble" not in p
    assert p["permalink"].endswith(f"/product/{p['slug']}/")


def test_external_product_fields_and_stock_rules(wc: httpx.Client) -> None:
    """§4/§11: external_url/button_text apply to external products only; an external
    product stays in stock; `manage_stock: true` is 400; `product_url` is ignored."""
    ext = make(wc, type="external", external_url="https://shop.example/p/1",
               button_text="Buy at shop", product_url="https://ignored.example")
    assert (ext["external_url"], ext["button_text"], ext["purchasable"]) == (
        "https://shop.example/p/1", "Buy at shop", False)
    out = wc.put(f"/products/{ext['id']}", json={"stock_status": "outofstock"})
    assert out.status_code == 200 and out.json()["stock_status"] == "instock"
    bad = wc.put(f"/products/{ext['id']}", json={"manage_stock": True})
    assert error_of(bad) == (400, "product_external_invalid_manage_stock")
    simple = make(wc, external_url="https://x.example", button_text="Go")
    assert simple["external_url"] == "" and simple["button_text"] == ""


def test_stock_management_derives_status(wc: httpx.Client) -> None:
    """§4: with manage_stock the quantity drives stock_status."""
    p = make(wc, manage_stock=True, stock_quantity=3)
    assert (p["stock_quantity"], p["stock_status"]) == (3, "instock")
    zero = wc.put(f"/products/{p['id']}", json={"stock_quantity": 0}).json()
    assert zero["stock_status"] == "outofstock"


def test_unreachable_image_fails_the_product(wc: httpx.Client, site: SandboxHandle) -> None:
    """§4/§11: an image that cannot be downloaded → 400
    `woocommerce_product_image_upload_error`, and the product is not kept."""
    site.configure(unreachable_image_hosts=["dead.example"])
    r = wc.post("/products", json={"name": "img", "sku": "IMG",
                                   "images": [{"src": "https://dead.example/a.jpg"}]})
    assert error_of(r) == (400, "woocommerce_product_image_upload_error")
    assert "dead.example" in r.json()["message"]
    assert site.products() == []
    batch = wc.post("/products/batch", json={"create": [
        {"sku": "I1", "images": [{"src": "https://cdn.dead.example/b.png"}]}]}).json()
    assert batch["create"][0]["error"]["code"] == "woocommerce_product_image_upload_error"


def test_images_get_ids_and_the_list_replaces(wc: httpx.Client) -> None:
    """§4: each image becomes an attachment with an id, index 0 is featured, the list
    replaces, `images: []` clears, an existing id can be reused, a bad id is 400."""
    p = make(wc, images=[{"src": "https://img.example/one.jpg", "alt": "One"},
                         {"src": "https://img.example/two.jpg"}])
    first, second = p["images"]
    assert first["id"] > 0 and first["alt"] == "One" and first["src"].endswith("/one.jpg")
    again = wc.put(f"/products/{p['id']}", json={"images": [{"id": second["id"]}]}).json()
    assert [i["id"] for i in again["images"]] == [second["id"]]
    assert wc.put(f"/products/{p['id']}", json={"images": []}).json()["images"] == []
    bad = wc.put(f"/products/{p['id']}", json={"images": [{"id": 999999}]})
    assert error_of(bad) == (400, "woocommerce_product_invalid_image_id")


def test_attributes_global_by_id_and_local_by_name(wc: httpx.Client,
                                                   site: SandboxHandle) -> None:
    """§4: global attributes by id (missing terms created), custom ones by name with
    options split on `|`; entries without options are dropped."""
    color = site.seed_attributes([{"name": "Color", "terms": ["Red"]}])[0]
    p = make(wc, attributes=[{"id": color["id"], "options": ["red", "Green"], "visible": True},
                             {"name": "Material", "options": ["Wool | Silk"]},
                             {"id": color["id"]}])
    glob, local = p["attributes"]
    assert (glob["id"], glob["name"], glob["options"], glob["visible"]) == (
        color["id"], "Color", ["Red", "Green"], True)
    assert (local["id"], local["options"], local["visible"]) == (0, ["Wool", "Silk"], False)
    assert {t["name"] for t in site.terms(color["slug"])} == {"Red", "Green"}


def test_tags_by_name_are_created(wc: httpx.Client) -> None:
    """§4: tags by id or (v3) by name; a missing tag is created."""
    p = make(wc, tags=[{"name": "Sale"}])
    q = make(wc, tags=[{"name": "sale"}, {"id": p["tags"][0]["id"]}])
    assert [t["id"] for t in q["tags"]] == [p["tags"][0]["id"]]


def test_text_fields_pass_through_kses(wc: httpx.Client) -> None:
    """§4: wp_filter_post_kses strips scripts; allowed markup stays."""
    p = make(wc, name="<script>x</script>Nice", description="<p onclick='x()'>Hi</p>")
    assert p["name"] == "xNice" and p["description"] == "<p>Hi</p>"


def test_date_created_is_writable_and_date_modified_moves(wc: httpx.Client) -> None:
    """§4: date_created is writable in v3; date_modified is set on every save."""
    p = make(wc, date_created="2020-01-02T03:04:05")
    assert p["date_created"] == "2020-01-02T03:04:05" and p["date_modified"] >= "2024"


def test_not_found_codes(wc: httpx.Client) -> None:
    """§4/§10: GET/DELETE of an unknown id → 404, PUT → 400, same code."""
    assert error_of(wc.get("/products/424242")) == (404, "woocommerce_rest_product_invalid_id")
    assert error_of(wc.delete("/products/424242")) == (404, "woocommerce_rest_product_invalid_id")
    assert error_of(wc.put("/products/424242", json={})) == (
        400, "woocommerce_rest_product_invalid_id")
