"""What the pipeline hands a destination and what it gets back.

The pipeline (diff, record) speaks only these plain, frozen dataclasses and the `Destination`
protocol, so a WordPress or third-party destination can stand in for WooCommerce without the
pipeline knowing any HTTP. Product payloads are *neutral*: categories by name or path
(`[{"name": "A > B"}]`) or id, attributes by name, images by `src`; the destination resolves
them against the site.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, Self, runtime_checkable

Action = Literal["create", "update", "delete"]
Status = Literal["created", "updated", "deleted", "failed"]


@dataclass(frozen=True)
class WriteOp:
    """One product write. `sku` is the feed's key (compared without case, as stores do)."""

    action: Action
    sku: str
    payload: dict[str, Any] | None
    """Product JSON; for an update only the fields to change; None for a delete."""
    product_id: int | None = None
    """The destination id when known (update/delete); looked up by SKU when missing."""


@dataclass(frozen=True)
class WriteResult:
    """The outcome of one WriteOp. Record problems are data: a failure is a result, not a raise."""

    sku: str
    status: Status
    product_id: int | None
    code: str | None = None
    """The store's error code for failures (product_invalid_sku, woocommerce_rest_…) or ours
    (unknown_category, site_timeout …)."""
    message: str | None = None
    """Operator-readable and free of secrets."""
    warnings: tuple[str, ...] = field(default_factory=tuple)
    retry_groups: tuple[str, ...] = ()
    """Field groups the site did not take this time for a passing reason (an image host that
    timed out): the ledger keeps no hash for them, so the next run sends them again."""


@dataclass(frozen=True)
class RemoteProduct:
    """A product as the site holds it, reduced to what diff and reconcile need."""

    id: int
    sku: str
    status: str
    meta: dict[str, Any]
    """meta_data as key → value (the first row wins when a key repeats)."""


@runtime_checkable
class Destination(Protocol):
    """A site the pipeline writes products to. Implementations own their HTTP client."""

    async def __aenter__(self) -> Self: ...

    async def __aexit__(self, *exc_info: object) -> None: ...

    async def find_by_skus(self, skus: Sequence[str]) -> dict[str, RemoteProduct]:
        """Products holding these SKUs, keyed by `sku.lower()`; missing SKUs are absent."""
        ...

    async def write(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """Apply the ops; one result per op, in the same order."""
        ...

    def iter_products(self, *, per_page: int = 100) -> AsyncIterator[RemoteProduct]:
        """Every product of the site, in a stable order."""
        ...

    async def categories(self) -> list[dict[str, Any]]: ...

    async def create_category(self, name: str, parent: int = 0) -> int: ...

    async def attributes(self) -> list[dict[str, Any]]: ...

    async def check(self) -> dict[str, Any]: ...
