"""`POST /wp/v2/media` with a raw body, and `GET /wp/v2/media/<id>` (WP-Attachments).

A raw upload is checked in WordPress's order (`upload_from_data`): permission first (the
attachment type's `create_posts` cap is `upload_files`, so a user without it gets 401/403
`rest_cannot_create`), then an empty body `rest_upload_no_data`, no Content-Type, no or a
nameless Content-Disposition, and a file type WordPress does not allow (a 500, as
`wp_handle_sideload` reports it). Taken file names get `-1`, `-2` (`wp_unique_filename`). The
bytes are not kept: an attachment records its name, type and size. Multipart uploads
(`$_FILES`) are not modelled.
"""

from __future__ import annotations

import mimetypes
import re
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote

from elementafeeds.sandbox.rest import ApiRequest, ApiResponse, RestError, no_route
from elementafeeds.sandbox.text import now_iso

#: Extensions of `get_allowed_mime_types()` for the file kinds a feed could carry.
ALLOWED = frozenset({".jpg", ".jpeg", ".jpe", ".png", ".gif", ".webp", ".avif", ".heic",
                     ".bmp", ".ico", ".tif", ".tiff", ".pdf", ".mp4", ".mp3"})
_DISPOSITION = re.compile(r"""filename\*?=(?:UTF-8'[^']*')?(?:"([^"]*)"|([^;\s]*))""",
                          re.IGNORECASE)


def create_media(req: ApiRequest) -> ApiResponse:
    if not req.config.media_uploads:
        raise no_route()
    _check_permission(req)
    name, mime = _upload(req)
    now = now_iso()
    path = _unique_path(req, f"/wp-content/uploads/{now[:4]}/{now[5:7]}", name)
    stem = PurePosixPath(path).stem
    media = {"path": path, "source_url": f"{req.site_url}{path}", "name": stem, "alt": "",
             "date_created": now, "mime_type": mime, "filesize": len(req.raw),
             "author": req.identity.user_id}
    media["id"] = req.store.add_media(media)
    location = f"{req.site_url}/wp-json/wp/v2/media/{media['id']}"
    return ApiResponse(201, media_view(req, media), {"Location": location})


def get_media(req: ApiRequest) -> ApiResponse:
    if not req.config.media_uploads:
        raise no_route()
    media = req.store.get_media(int(req.path_params["id"]))
    if media is None:
        raise RestError("rest_post_invalid_id", "Invalid post ID.", 404)
    return ApiResponse(200, media_view(req, media))


def _check_permission(req: ApiRequest) -> None:
    user = req.config.find_wp_user(req.identity.name) if req.identity.kind == "wp_user" else None
    if not req.identity.can_manage or (user is not None and not user.upload_files):
        raise RestError("rest_cannot_create",
                        "Sorry, you are not allowed to create posts as this user.",
                        req.identity.denial_status)


def _upload(req: ApiRequest) -> tuple[str, str]:
    """(file name, MIME type) of a raw upload, or the error WordPress answers."""
    if not req.raw:
        raise RestError("rest_upload_no_data", "No data supplied.")
    mime = req.headers.get("content-type", "").split(";")[0].strip().lower()
    if not mime:
        raise RestError("rest_upload_no_content_type", "No Content-Type supplied.")
    disposition = req.headers.get("content-disposition", "")
    if not disposition:
        raise RestError("rest_upload_no_content_disposition", "No Content-Disposition supplied.")
    found = _DISPOSITION.search(disposition)
    name = PurePosixPath(unquote(next(filter(None, found.groups()), "")) if found else "").name
    if not name:
        raise RestError("rest_upload_invalid_disposition",
                        "Invalid Content-Disposition supplied. Content-Disposition needs to be "
                        'formatted as `attachment; filename="image.png"` or similar.')
    if PurePosixPath(name).suffix.lower() not in ALLOWED:
        raise RestError("rest_upload_sideload_error",
                        "Sorry, you are not allowed to upload this file type.", 500)
    guessed = mimetypes.guess_type(name)[0]
    return name, guessed or mime


def _unique_path(req: ApiRequest, folder: str, name: str) -> str:
    stem, suffix = PurePosixPath(name).stem, PurePosixPath(name).suffix
    candidate, n = f"{folder}/{name}", 1
    while req.store.media_path_taken(candidate):
        candidate, n = f"{folder}/{stem}-{n}{suffix}", n + 1
    return candidate


def media_view(req: ApiRequest, media: dict[str, Any]) -> dict[str, Any]:
    """An attachment as WP-Attachments prepares it (the fields a client reads)."""
    mime = media.get("mime_type") or mimetypes.guess_type(media["path"])[0] or "image/jpeg"
    source = media.get("source_url") or f"{req.site_url}{media['path']}"
    if not str(source).startswith(req.site_url):  # a WooCommerce sideload keeps its origin
        source = f"{req.site_url}{media['path']}"
    return {
        "id": media["id"], "date": media["date_created"], "date_gmt": media["date_created"],
        "guid": {"rendered": source}, "modified": media["date_created"],
        "slug": media["name"].lower(), "status": "inherit", "type": "attachment",
        "link": f"{req.site_url}/?attachment_id={media['id']}",
        "title": {"raw": media["name"], "rendered": media["name"]},
        "author": media.get("author", 1), "alt_text": media.get("alt", ""),
        "media_type": "image" if mime.startswith("image/") else "file", "mime_type": mime,
        "media_details": {"filesize": media.get("filesize", 0)}, "post": None,
        "source_url": source,
    }
