"""The WordPress destination: posts or a custom post type (its REST base), behind the same
`Destination` protocol as WooCommerce.

Posts carry no SKU field: the SKU lives in the registered meta key `_ef_sku`, and lookups list
the post type (edit context, every status but trash, `orderby=id`) and read that meta, since
the REST API has no meta query. That listing is cached per destination instance and kept up to
date by this instance's own writes.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Self

import httpx

from elementafeeds.config.models import Site
from elementafeeds.destinations.base import RemoteProduct, WriteOp, WriteResult
from elementafeeds.destinations.gate import SiteGate
from elementafeeds.destinations.retry import RetryPolicy
from elementafeeds.destinations.wordpress.client import WPClient
from elementafeeds.destinations.wordpress.media import FeaturedImages
from elementafeeds.destinations.wordpress.writer import SKU_META, PostWriter, Terms
from elementafeeds.errors import RetriableSiteError, SiteError

STATUSES = "publish,draft,pending,private,future"


class WordPressDestination:
    """A WordPress site written through WP REST (`/wp-json/wp/v2/<post_type>`)."""

    platform = "wordpress"

    def __init__(self, site: Site, gate: SiteGate | None = None, *,
                 transport: httpx.AsyncBaseTransport | None = None,
                 retry: RetryPolicy | None = None,
                 credentials: Mapping[str, str] | None = None,
                 post_type: str = "posts",
                 create_missing_categories: bool = False,
                 create_missing_tags: bool = False) -> None:
        """`post_type` is the REST base (`posts`, `hotels`); `credentials` overrides the
        site's ${ENV} references (username, application_password)."""
        self.site = site
        self.post_type = post_type.strip("/") or "posts"
        self.gate = gate or SiteGate.from_site(site)
        self.retry = retry or RetryPolicy()
        self._client = WPClient(site, self.gate, transport=transport, retry=self.retry,
                                credentials=credentials)
        self._terms = Terms(self._client, create_categories=create_missing_categories,
                            create_tags=create_missing_tags)
        self._images = FeaturedImages(self._client, site_url=str(site.url))
        self._writer = PostWriter(self._client, self._terms, self._images, self.post_type,
                                  self._lookup, self.retry, self._remember)
        self._by_sku: dict[str, RemoteProduct] | None = None

    def __repr__(self) -> str:
        return f"WordPressDestination({self.site.name!r}, {self.post_type!r})"

    async def __aenter__(self) -> Self:
        await self._client.open()
        self.gate.set_probe(self._client.probe)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.gate.remove_probe(self._client.probe)
        await self._images.close()
        await self._client.close()

    # -- reads ---------------------------------------------------------------------------------

    async def _listing(self, refresh: bool = False) -> dict[str, RemoteProduct]:
        if self._by_sku is None or refresh:
            by_sku: dict[str, RemoteProduct] = {}
            async for product in self.iter_products():
                if product.sku:
                    by_sku.setdefault(product.sku.lower(), product)  # lowest id wins
            self._by_sku = by_sku
        return self._by_sku

    async def _lookup(self, skus: Sequence[str], refresh: bool) -> dict[str, RemoteProduct]:
        listing = await self._listing(refresh)
        return {s.lower(): listing[s.lower()] for s in skus if s and s.lower() in listing}

    async def find_by_skus(self, skus: Sequence[str]) -> dict[str, RemoteProduct]:
        """Posts holding these SKUs in `_ef_sku`, keyed by `sku.lower()` (trash excluded)."""
        return await self._lookup(skus, False)

    async def iter_products(self, *, per_page: int = 100) -> AsyncIterator[RemoteProduct]:
        """Every post of the post type (trash excluded), oldest id first."""
        params = {"context": "edit", "orderby": "id", "order": "asc", "status": STATUSES,
                  "_fields": "id,status,meta"}
        async for page in self._client.pages(f"wp/v2/{self.post_type}", params,
                                             per_page=per_page):
            for row in page:
                product = _remote(row)
                if product is not None:
                    yield product

    async def categories(self) -> list[dict[str, Any]]:
        return await self._terms.all("categories", refresh=True)

    async def create_category(self, name: str, parent: int = 0) -> int:
        return await self._terms.create("categories", name, parent)

    async def attributes(self) -> list[dict[str, Any]]:
        return []  # posts have no product attributes

    # -- writes --------------------------------------------------------------------------------

    async def write(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """One result per op, same order. Batches of ≤ 25 through /batch/v1 when offered;
        a featured image URL is uploaded to the media library first (once per URL)."""
        return await self._writer.write(ops)

    def _remember(self, result: WriteResult, op: WriteOp) -> None:
        if self._by_sku is None:
            return
        key = op.sku.lower()
        if result.status == "deleted":
            self._by_sku.pop(key, None)
        elif result.product_id is not None:
            old = self._by_sku.get(key)
            meta = dict(old.meta) if old else {}
            meta.update((op.payload or {}).get("meta") or {})
            meta[SKU_META] = op.sku
            status = str((op.payload or {}).get("status") or (old.status if old else ""))
            self._by_sku[key] = RemoteProduct(result.product_id, op.sku, status, meta)

    # -- health --------------------------------------------------------------------------------

    async def check(self) -> dict[str, Any]:
        """Reachability, credentials, the post type and write permission, writing nothing."""
        report: dict[str, Any] = {"reachable": False, "auth_ok": False, "can_write": False,
                                  "version": None, "latency_ms": None, "message": ""}
        started = time.perf_counter()
        try:
            me, _ = await self._client.send("GET", "wp/v2/users/me",
                                            params={"context": "edit"})
            report.update(reachable=True, auth_ok=True)
        except RetriableSiteError as exc:
            report["message"] = _with_hint(exc)
            return report
        except SiteError as exc:
            report.update(reachable=True, message=_with_hint(exc))
            return report
        finally:
            report["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
        try:
            await self._client.send("GET", f"wp/v2/{self.post_type}",
                                    params={"context": "edit", "per_page": 1, "_fields": "id"})
            caps = me.get("capabilities") if isinstance(me, dict) else None
            report["can_write"] = bool(isinstance(caps, dict) and caps.get("edit_posts"))
            if not report["can_write"]:
                report["message"] = ("the user cannot edit posts: use an application "
                                     "password of an Editor or Administrator")
        except SiteError as exc:
            report["message"] = _with_hint(exc)
        try:
            index, _ = await self._client.send("GET", "", params={"_fields": "name"})
            report["version"] = "WordPress" if isinstance(index, dict) else None
        except SiteError:
            pass
        if not report["message"]:
            report["message"] = "ok"
        return report


def _remote(row: Any) -> RemoteProduct | None:
    if not isinstance(row, dict) or row.get("id") is None:
        return None
    meta = row.get("meta") if isinstance(row.get("meta"), dict) else {}
    return RemoteProduct(int(row["id"]), str(meta.get(SKU_META) or ""),
                         str(row.get("status") or ""), dict(meta))


def _with_hint(exc: SiteError) -> str:
    return f"{exc.message} — {exc.hint}" if exc.hint else exc.message
