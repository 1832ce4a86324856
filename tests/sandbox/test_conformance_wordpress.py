"""Conformance of the sandbox with ../shared/wc-api.md, over HTTP — the WordPress side
(§7, §9, §12). What is left out is listed in `test_conformance.py`'s docstring, plus:
multipart media uploads (raw uploads are in), pages, authors other than the caller,
`rest_cannot_publish` and the other per-capability distinctions (a user is an administrator
or read-only, and may lack `upload_files`), sticky-post
ordering, the `view`/`embed` contexts beyond hiding `raw`, and the production rule that
application passwords need https (the sandbox is an environment of type `local`).
"""

from __future__ import annotations

import httpx
from sandbox_clients import wc_client, wp_client

from elementafeeds.sandbox.testing import SandboxHandle


def post(wp: httpx.Client, base: str = "posts", **fields: object) -> httpx.Response:
    return wp.post(f"/wp/v2/{base}", json={"title": "Hello", **fields})


def error_of(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["code"]


def test_create_is_201_draft_by_default_with_empty_slug(wp: httpx.Client) -> None:
    """§9/§12: 201 + Location; omitted status → draft; a draft's slug is '' until published."""
    r = post(wp, title="My first post")
    assert r.status_code == 201 and r.headers["Location"].endswith(f"/posts/{r.json()['id']}")
    assert (r.json()["status"], r.json()["slug"]) == ("draft", "")
    published = wp.post(f"/wp/v2/posts/{r.json()['id']}", json={"status": "publish"}).json()
    assert published["slug"] == "my-first-post"
    assert published["title"] == {"raw": "My first post", "rendered": "My first post"}


def test_slug_rules_future_dates_and_digits(wp: httpx.Client) -> None:
    """§12: a future date turns publish into future; all-digit slugs get -2; clashes -2."""
    future = post(wp, status="publish", date="2999-01-01T00:00:00").json()
    assert future["status"] == "future"
    assert post(wp, status="publish", slug="2024").json()["slug"] == "2024-2"
    assert post(wp, status="publish", title="Same").json()["slug"] == "same"
    assert post(wp, status="publish", title="Same").json()["slug"] == "same-2"


def test_application_password_errors(site: SandboxHandle, anon: httpx.Client) -> None:
    """§9/§12: no auth 401 rest_cannot_create; bad password incorrect_password; unknown user
    invalid_username; a read-only user 403; spaces and e-mail logins accepted."""
    assert error_of(anon.post("/wp/v2/posts", json={"title": "x"})) == (401, "rest_cannot_create")
    with wp_client(site, password="wrong") as bad:
        assert error_of(post(bad)) == (401, "incorrect_password")
    with wp_client(site, user="nobody") as ghost:
        assert error_of(post(ghost)) == (401, "invalid_username")
    with wp_client(site, user="sandbox_reader") as reader:
        assert error_of(post(reader)) == (403, "rest_cannot_create")
    squeezed = site.wp_password.replace(" ", "")
    with wp_client(site, user="sandbox@example.invalid", password=squeezed) as email:
        assert post(email).status_code == 201


def test_woocommerce_keys_cannot_post_wordpress_posts(site: SandboxHandle) -> None:
    """§6: WC key auth runs only on wc/ routes; on /wp/v2 the request is anonymous."""
    with wc_client(site) as wc:
        r = wc.post(site.wp_url("/posts"), json={"title": "x"})
    assert error_of(r) == (401, "rest_cannot_create")


def test_registered_meta_unregistered_dropped_wrong_type_after_create(
        wp: httpx.Client, site: SandboxHandle, anon: httpx.Client) -> None:
    """§9/§12: only registered keys are written, others dropped silently; a wrong type is
    400 rest_invalid_type but the post was already created with the other meta; protected
    registered meta is readable without auth; null deletes a key."""
    ok = post(wp, status="publish", meta={"_ef_sku": "S-1", "not_registered": "x"})
    assert ok.status_code == 201 and ok.json()["meta"]["_ef_sku"] == "S-1"
    assert "not_registered" not in ok.json()["meta"]
    bad = post(wp, title="dup-risk", meta={"_ef_sku": "S-2",
                                           "_elementa_feed_connection_id": 42})
    assert error_of(bad) == (400, "rest_invalid_type")
    created = [p for p in site.posts() if p["title"]["raw"] == "dup-risk"]
    assert len(created) == 1 and created[0]["meta"]["_ef_sku"] == "S-2"
    public = anon.get(f"/wp/v2/posts/{ok.json()['id']}").json()
    assert public["meta"]["_ef_sku"] == "S-1" and "raw" not in public["title"]
    cleared = wp.post(f"/wp/v2/posts/{ok.json()['id']}", json={"meta": {"_ef_sku": None}})
    assert cleared.json()["meta"]["_ef_sku"] == ""


def test_post_categories_ids_only(wp: httpx.Client, site: SandboxHandle) -> None:
    """§9/§12: unknown ids are dropped (the post ends with none); sending none gives
    Uncategorized; a name is 400 "categories[0] is not of type integer."."""
    news = site.seed_categories([{"name": "News"}], taxonomy="category")[0]
    assert post(wp, categories=[987654]).json()["categories"] == []
    assert post(wp).json()["categories"] == [1]
    assert post(wp, categories=[news["id"], 987654]).json()["categories"] == [news["id"]]
    r = post(wp, categories=["News"])
    assert error_of(r) == (400, "rest_invalid_param")
    assert r.json()["data"]["params"] == {"categories": "categories[0] is not of type integer."}


def test_terms_exist_with_term_id_and_need_force(wp: httpx.Client) -> None:
    """§5/§7/§9/§12: duplicate category or tag name (any case) → 400 term_exists with
    data.term_id; an unknown parent is 400 rest_term_invalid; delete needs force=true."""
    cat = wp.post("/wp/v2/categories", json={"name": "Travel"}).json()
    dup = wp.post("/wp/v2/categories", json={"name": "TRAVEL"})
    assert error_of(dup) == (400, "term_exists") and dup.json()["data"]["term_id"] == cat["id"]
    tag = wp.post("/wp/v2/tags", json={"name": "beach"}).json()
    assert wp.post("/wp/v2/tags", json={"name": "Beach"}).json()["data"]["term_id"] == tag["id"]
    orphan = wp.post("/wp/v2/categories", json={"name": "x", "parent": 99999})
    assert error_of(orphan) == (400, "rest_term_invalid")
    assert error_of(wp.delete(f"/wp/v2/categories/{cat['id']}")) == (
        501, "rest_trash_not_supported")
    gone = wp.delete(f"/wp/v2/categories/{cat['id']}", params={"force": "true"}).json()
    assert gone["deleted"] is True and gone["previous"]["id"] == cat["id"]


def test_post_paging_rules(wp: httpx.Client, site: SandboxHandle) -> None:
    """§9/§10/§12: past the end 400 rest_post_invalid_page_number (an empty collection's
    page 2 is 200 []); per_page=101 → 400; listing drafts without auth → 400."""
    assert wp.get("/wp/v2/posts", params={"page": 2}).json() == []
    for i in range(3):
        post(wp, status="publish", title=f"p{i}")
    r = wp.get("/wp/v2/posts", params={"per_page": 2, "page": 2})
    assert r.headers["X-WP-Total"] == "3" and len(r.json()) == 1
    assert error_of(wp.get("/wp/v2/posts", params={"per_page": 2, "page": 3})) == (
        400, "rest_post_invalid_page_number")
    assert error_of(wp.get("/wp/v2/posts", params={"per_page": 101})) == (
        400, "rest_invalid_param")
    drafts = httpx.get(site.wp_url("/posts"), params={"status": "draft"})
    assert error_of(drafts) == (400, "rest_invalid_param")
    assert wp.get("/wp/v2/posts", params={"status": "draft"}).status_code == 200


def test_trash_then_410_then_force(wp: httpx.Client) -> None:
    """§7/§12: trash answers the post with status trash and slug …__trashed; again → 410
    rest_already_trashed; force=true → {"deleted": true, "previous": {…}}."""
    pid = post(wp, status="publish", title="Bye").json()["id"]
    trashed = wp.delete(f"/wp/v2/posts/{pid}").json()
    assert (trashed["status"], trashed["slug"]) == ("trash", "bye__trashed")
    assert error_of(wp.delete(f"/wp/v2/posts/{pid}")) == (410, "rest_already_trashed")
    gone = wp.delete(f"/wp/v2/posts/{pid}", params={"force": "true"}).json()
    assert gone["deleted"] is True and gone["previous"]["id"] == pid
    assert error_of(wp.get(f"/wp/v2/posts/{pid}")) == (404, "rest_post_invalid_id")


def test_custom_post_types_by_rest_base(wp: httpx.Client, site: SandboxHandle) -> None:
    """§9/§12: a CPT lives at its REST base; the singular name and unknown types are
    rest_no_route; CPTs get the registered meta too."""
    assert error_of(post(wp, "hotels")) == (404, "rest_no_route")
    site.configure(post_types=["hotel:hotels"], meta_keys={"_ef_sku": "string",
                                                          "hotel_city": "string"})
    r = post(wp, "hotels", status="publish", meta={"hotel_city": "Turku"})
    assert r.status_code == 201 and r.json()["type"] == "hotel"
    assert r.json()["meta"]["hotel_city"] == "Turku" and "categories" not in r.json()
    assert error_of(post(wp, "hotel")) == (404, "rest_no_route")
    assert [p["id"] for p in site.posts("hotels")] == [r.json()["id"]]


def test_batch_v1(wp: httpx.Client, site: SandboxHandle) -> None:
    """§9/§12: 207 with a status per request; WooCommerce routes are not batchable; 26
    requests → 400 rest_invalid_param; require-all-validate runs nothing on a failure."""
    r = wp.post("/batch/v1", json={"requests": [
        {"method": "POST", "path": "/wp/v2/posts", "body": {"title": "b1"}},
        {"method": "POST", "path": "/wp/v2/posts", "body": {"title": "b2", "status": "nope"}},
        {"method": "POST", "path": "/wc/v3/products", "body": {"name": "x"}}]})
    assert r.status_code == 207
    statuses = [(x["status"], x["body"].get("code")) for x in r.json()["responses"]]
    assert statuses == [(201, None), (400, "rest_invalid_param"),
                        (400, "rest_batch_not_allowed")]
    too_many = wp.post("/batch/v1", json={"requests": [
        {"path": "/wp/v2/posts", "body": {"title": str(i)}} for i in range(26)]})
    assert error_of(too_many) == (400, "rest_invalid_param")
    assert "at most 25" in too_many.json()["data"]["params"]["requests"]
    before = len(site.posts())
    strict = wp.post("/batch/v1", json={"validation": "require-all-validate", "requests": [
        {"path": "/wp/v2/posts", "body": {"title": "ok"}},
        {"path": "/wp/v2/posts", "body": {"status": "nope"}}]}).json()
    assert strict["failed"] == "validation" and strict["responses"][0] is None
    assert strict["responses"][1]["status"] == 400 and len(site.posts()) == before


def test_batch_v1_can_be_switched_off(wp: httpx.Client, site: SandboxHandle) -> None:
    """Issue 3 (`--no-batch-v1`): a site without /batch/v1 answers rest_no_route."""
    site.configure(batch_v1=False)
    assert error_of(wp.post("/batch/v1", json={"requests": []})) == (404, "rest_no_route")


def test_drafts_are_private_and_edit_context_needs_rights(wp: httpx.Client,
                                                          anon: httpx.Client) -> None:
    """§9: a draft is not readable anonymously; `context=edit` needs the capability."""
    pid = post(wp).json()["id"]
    assert anon.get(f"/wp/v2/posts/{pid}").status_code == 401
    assert error_of(anon.get("/wp/v2/posts", params={"context": "edit"})) == (
        401, "rest_forbidden_context")
    assert "raw" in wp.get(f"/wp/v2/posts/{pid}", params={"context": "edit"}).json()["title"]


def test_site_index_types_and_current_user(wp: httpx.Client, anon: httpx.Client) -> None:
    """Issue 3 (`ef check`): `/wp-json/` lists namespaces and routes; `/wp/v2/users/me`."""
    index = anon.get("/").json()
    assert {"wp/v2", "wc/v3", "batch/v1"} <= set(index["namespaces"])
    assert "/wp/v2/posts" in index["routes"] and "/wc/v3/products/batch" in index["routes"]
    assert "posts" in {t["rest_base"] for t in anon.get("/wp/v2/types").json().values()}
    assert wp.get("/wp/v2/users/me").json()["slug"] == "sandbox"
    assert error_of(anon.get("/wp/v2/users/me")) == (401, "rest_not_logged_in")


def upload(client: httpx.Client, data: bytes = b"\xff\xd8\xff\xe0 jpeg", name: str = "a.jpg",
           **headers: str) -> httpx.Response:
    sent = {"Content-Type": "image/jpeg",
            "Content-Disposition": f'attachment; filename="{name}"', **headers}
    return client.post("/wp/v2/media", content=data, headers={k: v for k, v in sent.items()
                                                               if v})


def test_media_raw_upload(wp: httpx.Client, site: SandboxHandle) -> None:
    """WP-Attachments: a raw body with Content-Disposition is 201 + Location with id,
    source_url, media_type and mime_type; a taken file name gets -1; GET reads it back."""
    r = upload(wp, name="Beach.jpg")
    assert r.status_code == 201 and r.headers["Location"].endswith(f"/media/{r.json()['id']}")
    body = r.json()
    assert (body["media_type"], body["mime_type"], body["type"]) == (
        "image", "image/jpeg", "attachment")
    assert body["source_url"].startswith(site.url) and body["source_url"].endswith("/Beach.jpg")
    again = upload(wp, name="Beach.jpg").json()
    assert again["source_url"].endswith("/Beach-1.jpg") and again["id"] != body["id"]
    assert wp.get(f"/wp/v2/media/{body['id']}").json()["source_url"] == body["source_url"]
    assert error_of(wp.get("/wp/v2/media/999999")) == (404, "rest_post_invalid_id")
    assert [m["id"] for m in site.media()] == [body["id"], again["id"]]


def test_media_upload_errors(wp: httpx.Client, site: SandboxHandle) -> None:
    """upload_from_data: empty body, no Content-Type/Content-Disposition, no file name, a file
    type WordPress refuses (500, as wp_handle_sideload reports it); media is not batchable."""
    assert error_of(upload(wp, data=b"")) == (400, "rest_upload_no_data")
    assert error_of(upload(wp, **{"Content-Type": "", "Content-Disposition": "attachment"})
                    ) == (400, "rest_upload_no_content_type")
    assert error_of(upload(wp, **{"Content-Disposition": ""})) == (
        400, "rest_upload_no_content_disposition")
    assert error_of(upload(wp, **{"Content-Disposition": "attachment"})) == (
        400, "rest_upload_invalid_disposition")
    assert error_of(upload(wp, name="shell.php")) == (500, "rest_upload_sideload_error")
    batch = wp.post("/batch/v1", json={"requests": [
        {"method": "POST", "path": "/wp/v2/media", "body": {}}]}).json()
    assert batch["responses"][0]["body"]["code"] == "rest_batch_not_allowed"
    assert site.media() == []


def test_media_upload_needs_upload_files(site: SandboxHandle, anon: httpx.Client) -> None:
    """The attachment type's create_posts cap is upload_files: 401 logged out, 403 for a
    read-only user or one without upload_files (who may still write posts); a site that
    hides the route answers rest_no_route."""
    assert error_of(upload(anon)) == (401, "rest_cannot_create")
    with wp_client(site, user="sandbox_reader") as reader:
        assert error_of(upload(reader)) == (403, "rest_cannot_create")
    site.configure(wp_users=[{"username": site.wp_user, "password": site.wp_password,
                              "upload_files": False}])
    with wp_client(site) as contributor:
        assert error_of(upload(contributor)) == (403, "rest_cannot_create")
        assert post(contributor).status_code == 201
    site.configure(media_uploads=False)
    with wp_client(site) as wp:
        assert error_of(upload(wp)) == (404, "rest_no_route")
        assert "/wp/v2/media" not in wp.get("/").json()["routes"]


def test_featured_media_must_be_an_attachment(wp: httpx.Client, site: SandboxHandle) -> None:
    """§9: featured_media takes an attachment id; an unknown id is 400
    rest_invalid_featured_media, raised after the insert (the post exists)."""
    media = upload(wp).json()["id"]
    r = post(wp, featured_media=media)
    assert r.status_code == 201 and r.json()["featured_media"] == media
    bad = post(wp, title="no image", featured_media=987654)
    assert error_of(bad) == (400, "rest_invalid_featured_media")
    assert [p["featured_media"] for p in site.posts() if p["title"]["raw"] == "no image"] == [0]


def test_image_host_serves_stand_ins_and_refuses_credentials(site: SandboxHandle,
                                                             anon: httpx.Client) -> None:
    """`/__admin/images/NAME`: bytes typed by the extension, or the asked status/type/size;
    a request carrying credentials is refused (a client must not leak them to image hosts)."""
    png = httpx.get(site.image_url("p.png"))
    assert png.headers["content-type"] == "image/png" and png.content.startswith(b"\x89PNG")
    assert httpx.get(site.image_url("gone.jpg", status=404)).status_code == 404
    page = httpx.get(site.image_url("a.jpg", type="text/html"))
    assert page.headers["content-type"].startswith("text/html")
    assert len(httpx.get(site.image_url("big.jpg", size=5000)).content) == 5000
    leaked = httpx.get(site.image_url("a.jpg"), auth=(site.wp_user, site.wp_password))
    assert leaked.status_code == 403
