"""`GET /__admin/images/<name>`: an image host on the sandbox's own loopback address.

Feeds name images on third-party hosts; tests and demos must never leave 127.0.0.1, so the
sandbox serves stand-ins: small bytes starting with the format's signature, typed by the
name's extension. Query parameters shape the answer: `status` (e.g. 404), `type` (a
Content-Type, e.g. `text/html`) and `size` (pad the body to that many bytes).

A request carrying an `Authorization` header is refused (403): a client must never hand a
site's credentials to an image host, and a test that leaks them then fails.
"""

from __future__ import annotations

import mimetypes

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

_SIGNATURES = {"image/jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "image/png": b"\x89PNG\r\n\x1a\n",
               "image/gif": b"GIF89a", "image/webp": b"RIFF\x00\x00\x00\x00WEBP"}
_LOOPBACK = ("127.", "::1", "localhost")


def image_bytes(name: str, size: int | None = None) -> bytes:
    """The stand-in image for `name`: its format's signature, then filler to `size` bytes."""
    mime = mimetypes.guess_type(name)[0] or "image/jpeg"
    data = _SIGNATURES.get(mime, b"") + f"ef-sandbox-image:{name}".encode()
    if size is not None:
        data = (data * (size // max(1, len(data)) + 1))[:size]
    return data


async def serve_image(request: Request) -> Response:
    host = request.client.host if request.client else ""
    if not host.startswith(_LOOPBACK):
        return PlainTextResponse("the image host is loopback-only", 403)
    if "authorization" in request.headers:
        return PlainTextResponse("credentials sent to an image host", 403)
    name = request.path_params["name"]
    params = request.query_params
    status = int(params.get("status", 200))
    if status != 200:
        return PlainTextResponse(f"image {name}: {status}", status)
    size = int(params["size"]) if params.get("size") else None
    kind = params.get("type") or mimetypes.guess_type(name)[0] or "application/octet-stream"
    return Response(image_bytes(name, size), 200, media_type=kind)


def image_route() -> Route:
    return Route("/__admin/images/{name:path}", serve_image, methods=["GET"])
