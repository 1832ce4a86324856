"""The WooCommerce destination: what the pipeline, `ef map`, `ef check` and reconcile call.

It owns one AsyncClient; the per-site `SiteGate` is shared with every other destination that
writes to the same site in this process. Lookups compare SKUs without case, as the store does
(its SKU lookup table uses a case-insensitive collation, wc-api.md §11), and every listing
pages with `orderby=id&order=asc`: the default date order skips and repeats products created
in the same second.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Self
from urllib.parse import quote

import httpx

from elementafeeds.config.models import Site
from elementafeeds.destinations.base import RemoteProduct, WriteOp, WriteResult
from elementafeeds.destinations.gate import SiteGate
from elementafeeds.destinations.retry import RetryPolicy
from elementafeeds.destinations.woocommerce.catalog import Catalog
from elementafeeds.destinations.woocommerce.client import WooClient
from elementafeeds.destinations.woocommerce.writer import BatchWriter, run_all
from elementafeeds.errors import RetriableSiteError, SiteError

SKU_CHUNK = 100
SKU_URL_BUDGET = 6000
"""Bytes of encoded `sku=` value per lookup: far below the 8 KB many proxies allow a URL."""
LOOKUP_FIELDS = "id,sku,status,type,meta_data"


class WooCommerceDestination:
    """A WooCommerce store written through REST v3 (`/wp-json/wc/v3`)."""

    platform = "woocommerce"

    def __init__(
        self,
        site: Site,
        gate: SiteGate | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
        credentials: Mapping[str, str] | None = None,
        create_missing_categories: bool = False,
    ) -> None:
        """`credentials` overrides the site's ${ENV} references (the embedded sandbox);
        `create_missing_categories` creates categories products name that the site lacks
        (otherwise such a product fails with `unknown_category`)."""
        self.site = site
        self.gate = gate or SiteGate.from_site(site)
        self.retry = retry or RetryPolicy()
        self._client = WooClient(site, self.gate, transport=transport, retry=self.retry,
                                 credentials=credentials)
        self._catalog = Catalog(self._client, create_missing=create_missing_categories)
        self._writer = BatchWriter(self._client, self._catalog, self.find_by_skus, self.retry)

    def __repr__(self) -> str:
        return f"WooCommerceDestination({self.site.name!r}, {self.site.url!r})"

    async def __aenter__(self) -> Self:
        await self._client.open()
        self.gate.set_probe(self._client.probe)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.gate.remove_probe(self._client.probe)
        await self._client.close()

    # -- reads ---------------------------------------------------------------------------------

    async def find_by_skus(self, skus: Sequence[str]) -> dict[str, RemoteProduct]:
        """Products holding these SKUs, keyed by `sku.lower()`. Drafts, pending and private
        products are found (they block a SKU too); trashed ones are not listed by the store.
        Variations holding a SKU are left out: they cannot be written as products."""
        wanted: dict[str, str] = {}
        for sku in skus:
            if sku and sku.lower() not in wanted:
                wanted[sku.lower()] = sku
        found: dict[str, RemoteProduct] = {}

        async def lookup(chunk: list[str]) -> None:
            params = {"sku": ",".join(chunk), "orderby": "id", "order": "asc",
                      "_fields": LOOKUP_FIELDS}
            async for page in self._client.pages("products", params):
                for row in page:
                    product = _remote(row)
                    key = product.sku.lower() if product else None
                    if product and key in wanted and row.get("type") != "variation":
                        found.setdefault(key, product)  # lowest id wins

        await run_all([lookup(chunk) for chunk in _sku_chunks(list(wanted.values()))])
        return found

    async def iter_products(self, *, per_page: int = 100) -> AsyncIterator[RemoteProduct]:
        """Every product (trash excluded), oldest id first."""
        params = {"orderby": "id", "order": "asc", "_fields": LOOKUP_FIELDS}
        async for page in self._client.pages("products", params, per_page=per_page):
            for row in page:
                product = _remote(row)
                if product is not None:
                    yield product

    async def categories(self) -> list[dict[str, Any]]:
        return await self._catalog.categories(refresh=True)

    async def create_category(self, name: str, parent: int = 0) -> int:
        return await self._catalog.create_category(name, parent)

    async def attributes(self) -> list[dict[str, Any]]:
        return await self._catalog.attributes(with_terms=True)

    # -- writes --------------------------------------------------------------------------------

    async def write(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """One result per op, same order; see `writer` for the exactly-once rules."""
        return await self._writer.write(ops)

    # -- health --------------------------------------------------------------------------------

    async def check(self) -> dict[str, Any]:
        """Reachability, credentials and write permission, without writing anything: an
        empty batch is a no-op the store still checks write permission for."""
        report: dict[str, Any] = {"reachable": False, "auth_ok": False, "can_write": False,
                                  "version": None, "latency_ms": None, "message": ""}
        started = time.perf_counter()
        try:
            await self._client.send("GET", "products", params={"per_page": 1, "_fields": "id"})
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
            await self._client.send("POST", "products/batch", json={}, kind="batch")
            report["can_write"] = True
        except SiteError as exc:
            report["message"] = _with_hint(exc)
        report["version"] = await self._version()
        if not report["message"]:
            report["message"] = "ok"
        return report

    async def _version(self) -> str | None:
        try:
            data, _ = await asyncio.wait_for(self._client.send(
                "GET", "system_status", params={"_fields": "environment"}), 15)
        except (SiteError, TimeoutError):
            return None
        env = data.get("environment") if isinstance(data, dict) else None
        if not isinstance(env, dict):
            return None
        parts = [f"WooCommerce {env['version']}" if env.get("version") else "",
                 f"WordPress {env['wp_version']}" if env.get("wp_version") else ""]
        return ", ".join(p for p in parts if p) or None


def _remote(row: Any) -> RemoteProduct | None:
    if not isinstance(row, dict) or row.get("id") is None:
        return None
    meta: dict[str, Any] = {}
    for entry in row.get("meta_data") or []:
        if isinstance(entry, dict) and "key" in entry:
            meta.setdefault(str(entry["key"]), entry.get("value"))
    return RemoteProduct(int(row["id"]), str(row.get("sku") or ""), str(row.get("status") or ""),
                         meta)


def _sku_chunks(skus: list[str]) -> list[list[str]]:
    """≤ 100 SKUs and ≤ SKU_URL_BUDGET encoded bytes per lookup. A SKU with a comma goes
    alone: the store splits `sku=` on commas (and also tries the whole string)."""
    chunks: list[list[str]] = []
    current: list[str] = []
    size = 0
    for sku in skus:
        if "," in sku:
            chunks.append([sku])
            continue
        cost = len(quote(sku, safe="")) + 3
        if current and (len(current) >= SKU_CHUNK or size + cost > SKU_URL_BUDGET):
            chunks.append(current)
            current, size = [], 0
        current.append(sku)
        size += cost
    if current:
        chunks.append(current)
    return chunks


def _with_hint(exc: SiteError) -> str:
    return f"{exc.message} — {exc.hint}" if exc.hint else exc.message
