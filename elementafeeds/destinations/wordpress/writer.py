"""Writes to WordPress: payload translation, terms, batch/v1 or one request a post.

The rules layer's neutral payload (`title, content, excerpt, status, slug, categories, tags,
meta, featured_media_url`) becomes a WP-Posts body: term names resolve to ids (missing ones
created when asked), the SKU goes into the registered meta key `_ef_sku` (posts have no SKU
field). Meta keys WordPress does not know are dropped by it without a word: they are reported
as warnings. `featured_media_url` is downloaded and uploaded to the media library
(`media.FeaturedImages`); where that is not possible the post goes without it, with a warning.
A create answered 400 `rest_invalid_type` (or an ambiguous error) may have created the post
already, so it is looked up by `_ef_sku` before anything is repeated; a `/batch/v1` request
that keeps losing its answer is split in halves down to single posts (`splitting`).
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from elementafeeds.destinations.base import RemoteProduct, WriteOp, WriteResult
from elementafeeds.destinations.gate import CircuitOpenError
from elementafeeds.destinations.http import AmbiguousSiteError
from elementafeeds.destinations.retry import RetryPolicy, is_retriable
from elementafeeds.destinations.splitting import run_all, send_or_split
from elementafeeds.destinations.wordpress.client import WPClient, wp_auth_hint
from elementafeeds.destinations.wordpress.media import FeaturedImages
from elementafeeds.errors import RetriableSiteError, SiteError

SKU_META = "_ef_sku"
BATCH_MAX = 25
Lookup = Callable[[Sequence[str], bool], Awaitable[dict[str, RemoteProduct]]]


class Terms:
    """Categories and tags of the site by name (and category path `A > B`), cached."""

    def __init__(self, client: WPClient, *, create_categories: bool, create_tags: bool) -> None:
        self._client = client
        self._create = {"categories": create_categories, "tags": create_tags}
        self._cache: dict[str, list[dict[str, Any]]] = {}
        self._locks = {"categories": asyncio.Lock(), "tags": asyncio.Lock()}

    async def all(self, taxonomy: str, refresh: bool = False) -> list[dict[str, Any]]:
        if refresh or taxonomy not in self._cache:
            async with self._locks[taxonomy]:  # posts are prepared concurrently: list once
                if refresh or taxonomy not in self._cache:
                    self._cache[taxonomy] = await self._list(taxonomy)
        return self._cache[taxonomy]

    async def _list(self, taxonomy: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        async for page in self._client.pages(f"wp/v2/{taxonomy}", {
                "orderby": "id", "order": "asc", "hide_empty": "false",
                "_fields": "id,name,slug,parent,count"}):
            rows.extend(r for r in page if isinstance(r, dict))
        return rows

    def _find(self, taxonomy: str, name: str, parent: int) -> int | None:
        for row in self._cache.get(taxonomy, []):
            same = html.unescape(str(row.get("name", ""))).strip().lower() == name.lower()
            if same and (taxonomy == "tags" or int(row.get("parent") or 0) == parent):
                return int(row["id"])
        return None

    async def create(self, taxonomy: str, name: str, parent: int = 0) -> int:
        body: dict[str, Any] = {"name": name}
        if taxonomy == "categories" and parent:
            body["parent"] = parent
        try:
            row, _ = await self._client.retry.call(lambda: self._client.send(
                "POST", f"wp/v2/{taxonomy}", json=body, kind="write"), what="create term")
        except SiteError as exc:
            existing = getattr(exc, "resource_id", None)
            if exc.code == "term_exists" and existing:
                return int(existing)  # data.term_id names the term that already exists
            raise
        self._cache.setdefault(taxonomy, []).append(
            {"id": row["id"], "name": name, "parent": parent})
        return int(row["id"])

    async def resolve(self, taxonomy: str, items: Any) -> tuple[list[int], list[str]]:
        """(ids, missing names). A category name may be a path `A > B`."""
        await self.all(taxonomy)
        ids: list[int] = []
        missing: list[str] = []
        for item in items or []:
            if isinstance(item, int) or (isinstance(item, dict) and item.get("id")):
                ids.append(int(item if isinstance(item, int) else item["id"]))
                continue
            name = str(item.get("name") if isinstance(item, dict) else item or "").strip()
            if not name:
                continue
            parts = [p.strip() for p in name.split(">")] if taxonomy == "categories" else [name]
            parent = 0
            async with self._locks[taxonomy]:
                for part in parts:
                    found = self._find(taxonomy, part, parent)
                    if found is None:
                        if not self._create[taxonomy]:
                            missing.append(name)
                            break
                        found = await self.create(taxonomy, part, parent)
                    parent = found
                else:
                    ids.append(parent)
        return list(dict.fromkeys(ids)), missing


@dataclass
class Prepared:
    op: WriteOp
    index: int
    method: str = "POST"
    path: str = ""
    body: dict[str, Any] | None = None
    params: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    result: WriteResult | None = None
    retry_image: bool = False


class PostWriter:
    def __init__(self, client: WPClient, terms: Terms, images: FeaturedImages, post_type: str,
                 lookup: Lookup, retry: RetryPolicy,
                 on_written: Callable[[WriteResult, WriteOp], None]) -> None:
        self._client = client
        self._terms = terms
        self._images = images
        self._base = f"wp/v2/{post_type}"
        self._lookup = lookup
        self._retry = retry
        self._on_written = on_written
        self._batch: bool | None = None

    async def batch_available(self) -> bool:
        """Whether the site offers `/batch/v1` (read from the `/wp-json/` index, once)."""
        if self._batch is None:
            try:
                index, _ = await self._client.get("", {"_fields": "namespaces,routes"})
            except SiteError:
                index = None
            routes = index.get("routes") if isinstance(index, dict) else None
            namespaces = index.get("namespaces") if isinstance(index, dict) else None
            self._batch = bool((isinstance(routes, dict) and "/batch/v1" in routes)
                               or (isinstance(namespaces, list) and "batch/v1" in namespaces))
        return self._batch

    async def write(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        prepared = [Prepared(op, i) for i, op in enumerate(ops)]
        need_ids = [p.op.sku for p in prepared
                    if p.op.action != "create" and p.op.product_id is None]
        known = await self._lookup(need_ids, False) if need_ids else {}
        # concurrently: featured images are fetched and uploaded while preparing
        await run_all([self._prepare(p, known) for p in prepared])
        todo = [p for p in prepared if p.result is None]
        if todo and await self.batch_available():
            for start in range(0, len(todo), BATCH_MAX):
                await self._send_batch(todo[start:start + BATCH_MAX])
        elif todo:
            await asyncio.gather(*(self._send_one(p) for p in todo))
        out: list[WriteResult] = []
        for p in prepared:
            assert p.result is not None
            if p.retry_image and p.result.status != "failed":
                p.result = replace(p.result, retry_groups=("images",))
            if p.result.status != "failed":
                self._on_written(p.result, p.op)
            out.append(p.result)
        return out

    # -- preparation ---------------------------------------------------------------------------

    async def _prepare(self, p: Prepared, known: dict[str, RemoteProduct]) -> None:
        op = p.op
        pid = op.product_id
        if pid is None and op.action != "create":
            hit = known.get(op.sku.lower())
            pid = hit.id if hit else None
            if pid is None:
                if op.action == "delete":  # already gone: the goal is reached
                    p.result = WriteResult(op.sku, "deleted", None,
                                           warnings=("no post holds this SKU any more",))
                else:
                    p.result = WriteResult(op.sku, "failed", None, code="not_found",
                                           message=f"no post with {SKU_META} '{op.sku}'")
                return
        if op.action == "delete":
            p.method, p.path, p.params = "DELETE", f"{self._base}/{pid}", {"force": "true"}
            return
        p.path = self._base if op.action == "create" else f"{self._base}/{pid}"
        p.method = "POST"
        try:
            p.body = await self._body(p)
        except _Unresolved as exc:
            p.result = WriteResult(op.sku, "failed", pid, code=exc.code, message=str(exc))

    async def _body(self, p: Prepared) -> dict[str, Any]:
        op = p.op
        payload = dict(op.payload or {})
        body: dict[str, Any] = {}
        for name in ("title", "content", "excerpt", "status", "slug", "date", "author",
                     "comment_status", "ping_status", "template", "format", "sticky",
                     "featured_media"):
            if name in payload and payload[name] is not None:
                body[name] = payload[name]
        for name, code in (("categories", "unknown_category"), ("tags", "unknown_tag")):
            if name in payload and payload[name] is not None:
                ids, missing = await self._terms.resolve(name, payload[name])
                if missing:
                    raise _Unresolved(code, f"{name} not on the site: {', '.join(missing)} "
                                      f"(allow creating missing {name} to create them)")
                body[name] = ids
        url = _image_url(op)
        if op.action == "update" and "featured_media_url" in payload and not url \
                and payload.get("featured_media") is None:
            body["featured_media"] = 0  # the feed stopped sending an image: remove it
        if url:
            media_id, warning = await self._images.media_id(url)
            if media_id is not None:
                body["featured_media"] = media_id
            elif warning:
                p.warnings.append(warning)
                p.retry_image = url in self._images.retry_later
        meta = dict(payload.get("meta") or {})
        if op.action == "create" or meta:
            meta[SKU_META] = op.sku
        if meta:
            body["meta"] = meta
        return body

    # -- sending -------------------------------------------------------------------------------

    def _finish(self, p: Prepared, status: int, body: Any) -> None:
        """Turn one answer (direct or a batch envelope) into p.result (creates may defer)."""
        op = p.op
        if 200 <= status < 300 and isinstance(body, dict):
            if op.action == "delete":
                prev = body.get("previous") if isinstance(body.get("previous"), dict) else body
                p.result = WriteResult(op.sku, "deleted", _id(prev) or op.product_id)
                return
            p.warnings.extend(_dropped_meta(p.body, body) + _dropped_image(p.body, body))
            p.result = WriteResult(op.sku, "created" if op.action == "create" else "updated",
                                   _id(body), warnings=tuple(p.warnings))
            return
        code = body.get("code") if isinstance(body, dict) else None
        message = body.get("message") if isinstance(body, dict) else None
        if op.action == "delete" and code == "rest_post_invalid_id":
            p.result = WriteResult(op.sku, "deleted", op.product_id,
                                   warnings=("the post was already gone",))
            return
        p.result = WriteResult(op.sku, "failed", op.product_id, code=code or f"http_{status}",
                               message=self._client.scrub(str(message or f"answered {status}")),
                               warnings=tuple(p.warnings))

    async def _send_batch(self, group: list[Prepared]) -> None:
        try:
            answer = await send_or_split(group, self._post_batch, policy=self._retry,
                                         what="POST batch/v1", verify=self._verify_creates,
                                         resend=self._resend)
        except CircuitOpenError:
            raise
        except RetriableSiteError as exc:  # out of attempts: failures for this run
            for p in group:
                if p.result is None:
                    p.result = WriteResult(p.op.sku, "failed", p.op.product_id, code=exc.code,
                                           message=exc.message, warnings=tuple(p.warnings))
            return
        except SiteError as exc:
            if exc.code != "rest_no_route":
                raise
            self._batch = False  # the index lied or the plugin went away
            await asyncio.gather(*(self._send_one(p) for p in group if p.result is None))
            return
        if answer is None:  # split: the halves recorded their own results
            return
        todo, responses = answer
        for p, envelope in zip(todo, responses, strict=True):
            if not isinstance(envelope, dict):
                envelope = {"status": 500, "body": None}
            status = int(envelope.get("status") or 500)
            if status in (401, 403):  # the user, not the post: every item would fail
                body = envelope.get("body") if isinstance(envelope.get("body"), dict) else {}
                code = body.get("code")
                raise SiteError(
                    f"site {self._client.site.name}: {p.method} /wp-json/{p.path} (in "
                    f"/batch/v1) answered {status} {code}: "
                    f"{self._client.scrub(str(body.get('message') or ''))}",
                    hint=wp_auth_hint(status, code), status=status, code=code)
            self._finish(p, status, envelope.get("body"))
        await self._verify_invalid_creates(todo)

    async def _post_batch(self, group: list[Prepared]) -> tuple[list[Prepared], list[Any]]:
        """One `/batch/v1` request for the posts not yet settled: (them, their envelopes)."""
        todo = [p for p in group if p.result is None]  # a verified create is settled
        if not todo:
            return [], []
        requests = []
        for p in todo:
            path = "/" + p.path
            if p.params:
                path += "?" + "&".join(f"{k}={v}" for k, v in p.params.items())
            item: dict[str, Any] = {"method": p.method, "path": path}
            if p.body is not None:
                item["body"] = p.body
            requests.append(item)
        data, _ = await self._client.send("POST", "batch/v1", kind="batch", size=len(todo),
                                          json={"validation": "normal", "requests": requests})
        responses = data.get("responses") if isinstance(data, dict) else None
        if not isinstance(responses, list) or len(responses) != len(todo):
            raise AmbiguousSiteError(
                f"site {self._client.site.name}: POST /wp-json/batch/v1 answered without a "
                "result for every request", code="invalid_batch_answer")
        return todo, responses

    async def _resend(self, part: list[Prepared]) -> None:
        """A half of a split batch; a single post goes on its own route (a batch of one
        buys nothing, and the batch route may be what is failing)."""
        todo = [p for p in part if p.result is None]
        if len(todo) == 1:
            await self._send_one(todo[0])
        elif todo:
            await self._send_batch(todo)

    async def _verify_creates(self, group: list[Prepared]) -> None:
        """After a lost answer: a create whose post now exists is settled as created."""
        creates = [p for p in group if p.result is None and p.op.action == "create"]
        if not creates:
            return
        found = await self._lookup([p.op.sku for p in creates], True)
        for p in creates:
            existing = found.get(p.op.sku.lower())
            if existing is not None:
                p.result = WriteResult(p.op.sku, "created", existing.id,
                                       warnings=tuple(p.warnings))

    async def _send_one(self, p: Prepared) -> None:
        attempt = 0
        while True:
            attempt += 1
            if p.op.action == "create" and attempt > 1:
                existing = await self._existing(p.op.sku)
                if existing is not None:
                    p.result = WriteResult(p.op.sku, "created", existing.id,
                                           warnings=tuple(p.warnings))
                    return
            try:
                data, _ = await self._client.send(p.method, p.path, params=p.params or None,
                                                  json=p.body, kind="write")
            except SiteError as exc:
                if exc.status in (401, 403) or exc.code == "rest_no_route":
                    raise
                if is_retriable(exc) and attempt < self._retry.attempts:
                    wait = min(self._retry.max_backoff_s, self._retry.initial_s * 2 ** attempt)
                    after = getattr(exc, "retry_after", None)
                    if after is not None:
                        wait = max(wait, min(float(after), self._retry.max_retry_after_s))
                    await asyncio.sleep(wait)
                    continue
                if isinstance(exc, RetriableSiteError):
                    p.result = WriteResult(p.op.sku, "failed", p.op.product_id,
                                           code=exc.code, message=exc.message,
                                           warnings=tuple(p.warnings))
                    return
                self._finish(p, exc.status or 400,
                             {"code": exc.code, "message": _detail(exc.message)})
                await self._verify_invalid_creates([p])
                return
            self._finish(p, 200, data)
            return

    async def _verify_invalid_creates(self, group: list[Prepared]) -> None:
        """A create refused with rest_invalid_type (or an invalid featured_media, also checked
        after the insert) may have left its post behind: find it."""
        for p in group:
            r = p.result
            if r and r.status == "failed" and p.op.action == "create" and r.code in (
                    "rest_invalid_type", "rest_invalid_param", "rest_invalid_featured_media"):
                existing = await self._existing(p.op.sku)
                if existing is not None:
                    p.result = WriteResult(
                        r.sku, "failed", existing.id, code=r.code,
                        message=f"{r.message} — WordPress created the post anyway (id "
                        f"{existing.id}); the next run updates it", warnings=r.warnings)
                    self._on_written(WriteResult(r.sku, "created", existing.id), p.op)

    async def _existing(self, sku: str) -> RemoteProduct | None:
        found = await self._lookup([sku], True)
        return found.get(sku.lower())


class _Unresolved(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _image_url(op: WriteOp) -> str | None:
    """The featured image URL to fetch for this op, if any (an explicit id wins)."""
    payload = op.payload or {}
    if op.action == "delete" or payload.get("featured_media") is not None:
        return None
    url = str(payload.get("featured_media_url") or "").strip()
    return url or None


def _id(body: Any) -> int | None:
    try:
        return int(body["id"]) if isinstance(body, dict) and body.get("id") else None
    except (TypeError, ValueError):
        return None


def _detail(message: str) -> str:
    """The store's part of a SiteError message (after 'answered 400 code:')."""
    return message.split(": ", 2)[-1] if ": " in message else message


def _dropped_image(sent: dict[str, Any] | None, answer: dict[str, Any]) -> list[str]:
    """A featured_media the site did not keep. WP-Posts' create_item/update_item ignore the
    error of `handle_featured_media` in the sources read, so a site may answer 2xx without
    the image: say so instead of losing it silently."""
    wanted = (sent or {}).get("featured_media")
    shown = answer.get("featured_media")
    if not wanted or shown is None or shown == wanted:
        return []
    return [f"the site did not set featured image {wanted} (it answered {shown})"]


def _dropped_meta(sent: dict[str, Any] | None, answer: dict[str, Any]) -> list[str]:
    keys = list((sent or {}).get("meta") or {})
    shown = answer.get("meta")
    if not keys or not isinstance(shown, dict):
        return []
    dropped = [k for k in keys if k not in shown]
    if not dropped:
        return []
    return [("meta not registered on the site (register_post_meta with show_in_rest), "
             f"dropped by WordPress: {', '.join(dropped)}")]


__all__ = ["BATCH_MAX", "SKU_META", "PostWriter", "Terms"]
