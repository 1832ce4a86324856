"""Writing products through `products/batch`: exactly once per SKU, whatever the site does.

The rules, each for a behaviour of real stores (wc-api.md §1, §2, §4, §8, §11):

* Batches hold at most `limits.batch_size` items (never over WooCommerce's cap of 100) and run
  concurrently as the site's gate admits them.
* A lost answer (timeout, dropped connection, 5xx, a 200 with an HTML page) is *ambiguous*: the
  store may have applied the batch, and it goes on working after the client gave up. Before
  creates from such a batch are sent again, their SKUs are looked up; a create whose product now
  exists becomes an update of that id (reported as created, without its images: the lost
  request already fetched them, and each resend adds copies to the media library). A create
  that still races the store's late commit meets `product_invalid_sku` and is adopted the same
  way. Updates are idempotent and deletes of a gone id count as done.
* A batch that keeps losing answers is split in halves, down to single items: one poisonous
  product (a huge image set, a PHP fatal) then fails alone.
* Per-item errors are results, never raises. `product_invalid_sku` on create adopts the owner
  (`data.resource_id`); an image the store cannot fetch is dropped and the product sent again
  with a warning naming the URL; a SKU held by a trashed product fails with a hint.
* 401/403 and other fatal answers raise SiteError for the run; a site that stays down raises
  the gate's CircuitOpenError. Either carries `partial_results` (finished items, else None).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from elementafeeds.destinations.base import RemoteProduct, Status, WriteOp, WriteResult
from elementafeeds.destinations.gate import CircuitOpenError
from elementafeeds.destinations.http import AmbiguousSiteError, plain_text
from elementafeeds.destinations.retry import RetryPolicy
from elementafeeds.destinations.splitting import run_all, send_or_split
from elementafeeds.destinations.woocommerce.catalog import Catalog, ItemProblem
from elementafeeds.destinations.woocommerce.client import WooClient
from elementafeeds.errors import RetriableSiteError, SiteError

log = logging.getLogger(__name__)
Lookup = Callable[[Sequence[str]], Awaitable[dict[str, RemoteProduct]]]
MAX_BATCH = 100
MAX_IMAGE_ROUNDS = 3
TRASHED_SKU_HINT = ("a trashed product holds this SKU; empty the trash or restore that product "
                    "(WooCommerce keeps trashed SKUs in its lookup table)")


@dataclass
class _Item:
    """One op on its way through batches, splits and follow-ups."""

    index: int
    op: WriteOp
    action: str
    payload: dict[str, Any] | None
    product_id: int | None
    report: Status
    warnings: list[str] = field(default_factory=list)
    lost: bool = False
    """Some attempt carrying this item lost its answer: it may exist on the site already."""
    adopted: bool = False
    image_rounds: int = 0

    def body(self) -> Any:
        if self.action == "delete":
            return self.product_id
        if self.action == "update":
            return {**(self.payload or {}), "id": self.product_id}
        return self.payload

    def adopt(self, product_id: int, *, ours: bool) -> None:
        """Turn a create into an update of the product that holds its SKU."""
        self.action, self.product_id, self.adopted = "update", product_id, True
        self.report = "created" if ours else "updated"
        if ours and self.payload:
            self.payload = {k: v for k, v in self.payload.items() if k != "images"}


class BatchWriter:
    def __init__(self, client: WooClient, catalog: Catalog, lookup: Lookup,
                 retry: RetryPolicy) -> None:
        self._client = client
        self._catalog = catalog
        self._lookup = lookup
        self._retry = retry
        self.batch_size = max(1, min(MAX_BATCH, client.site.limits.batch_size))

    async def write(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        results: list[WriteResult | None] = [None] * len(ops)
        try:
            need_id = [op.sku for op in ops if op.action != "create" and op.product_id is None]
            known = await self._lookup(need_id) if need_id else {}
            items = []
            for index, op in enumerate(ops):
                try:
                    item = await self._prepare(index, op, known)
                except ItemProblem as problem:
                    results[index] = WriteResult(op.sku, "failed", op.product_id,
                                                 problem.code, problem.message)
                    continue
                if item is None:  # a delete of something already gone
                    results[index] = WriteResult(
                        op.sku, "deleted", None,
                        warnings=(f"SKU {op.sku} was not on the site; nothing to delete",))
                else:
                    items.append(item)
            await run_all([self._send(batch, results)
                           for batch in _chunks(items, self.batch_size)])
        except SiteError as exc:
            exc.partial_results = tuple(results)  # type: ignore[attr-defined]
            raise
        missing = [i for i, r in enumerate(results) if r is None]
        if missing:  # a bug, but never lose an op silently
            for i in missing:
                results[i] = WriteResult(ops[i].sku, "failed", ops[i].product_id,
                                         "internal_error", "no result was recorded")
        return [r for r in results if r is not None]

    async def _prepare(self, index: int, op: WriteOp,
                       known: dict[str, RemoteProduct]) -> _Item | None:
        product_id = op.product_id
        if op.action != "create" and product_id is None:
            found = known.get(op.sku.lower())
            if found is None:
                if op.action == "delete":
                    return None
                raise ItemProblem("product_not_found",
                                  f"no product with SKU {op.sku} on site {self._client.site.name}"
                                  " to update")
            product_id = found.id
        if op.action == "delete":
            return _Item(index, op, "delete", None, product_id, "deleted")
        if op.payload is None:
            raise ItemProblem("invalid_payload", f"{op.action} of {op.sku} has no payload")
        payload = dict(op.payload)
        if op.action == "create":
            payload.setdefault("sku", op.sku)
        if payload.get("categories") is not None:
            payload["categories"] = await self._catalog.resolve_categories(
                list(payload["categories"]))
        if payload.get("attributes") is not None:
            payload["attributes"] = await self._catalog.resolve_attributes(
                list(payload["attributes"]))
        report: Status = "created" if op.action == "create" else "updated"
        return _Item(index, op, op.action, payload, product_id, report)

    # -- one batch -----------------------------------------------------------------------------

    async def _send(self, items: list[_Item], results: list[WriteResult | None]) -> None:
        try:
            entries = await send_or_split(
                items, self._post, policy=self._retry, what="POST products/batch",
                verify=self._verify_creates, resend=lambda part: self._send(part, results))
        except CircuitOpenError:
            raise
        except RetriableSiteError as exc:
            # Out of attempts on errors that splitting cannot help (429, refused connections),
            # or a single item: failures for this run; the next run retries them (an item
            # that did land is then found by its SKU).
            for item in items:
                results[item.index] = self._failed(item, exc.code or "site_error", str(exc))
            return
        except SiteError as exc:
            if exc.status != 413 or len(items) == 1:
                raise
            # The host lowered `woocommerce_rest_batch_items_limit`: learn it, split, go on.
            self.batch_size = min(self.batch_size, max(1, len(items) // 2))
            log.debug("batch of %d refused as too large; batch size now %d", len(items),
                      self.batch_size)
            await run_all([self._send(part, results) for part in _chunks(items,
                                                                          self.batch_size)])
            return
        if entries is None:  # split: the halves recorded their own results
            return
        follow_ups = await self._apply(items, entries, results)
        if follow_ups:
            await self._send(follow_ups, results)

    async def _post(self, items: list[_Item]) -> list[Any]:
        """Send one batch; the answer's entries in the order of `items`."""
        try:
            return await self._post_once(items)
        except AmbiguousSiteError:
            for it in items:
                it.lost = True  # it may exist on the site already
            raise

    async def _post_once(self, items: list[_Item]) -> list[Any]:
        body: dict[str, list[Any]] = {}
        for action in ("create", "update", "delete"):
            group = [it.body() for it in items if it.action == action]
            if group:
                body[action] = group
        data, _ = await self._client.send("POST", "products/batch", json=body, kind="batch",
                                          size=len(items))
        answers = {}
        for action, sent in body.items():
            got = data.get(action) if isinstance(data, dict) else None
            if not isinstance(got, list) or len(got) != len(sent):
                raise AmbiguousSiteError(
                    f"site {self._client.site.name}: POST products/batch answered without a "
                    f"result for every {action} item", code="invalid_batch_answer")
            answers[action] = iter(got)
        return [next(answers[it.action]) for it in items]

    async def _verify_creates(self, items: list[_Item]) -> None:
        """After a lost answer: creates that landed become updates of what they created."""
        creates = [it for it in items if it.action == "create"]
        if not creates:
            return
        found = await self._lookup([it.op.sku for it in creates])
        for it in creates:
            remote = found.get(it.op.sku.lower())
            if remote is not None:
                it.adopt(remote.id, ours=True)

    # -- per-item answers ----------------------------------------------------------------------

    async def _apply(self, items: list[_Item], entries: list[Any],
                     results: list[WriteResult | None]) -> list[_Item]:
        follow_ups: list[_Item] = []
        for item, entry in zip(items, entries, strict=True):
            error = entry.get("error") if isinstance(entry, dict) else None
            if not isinstance(error, dict):
                pid = entry.get("id") if isinstance(entry, dict) else entry
                results[item.index] = WriteResult(
                    item.op.sku, item.report, _int(pid) or item.product_id,
                    warnings=tuple(item.warnings))
                continue
            code = str(error.get("code") or "unknown_error")
            message = self._client.scrub(plain_text(str(error.get("message") or code)))
            data = error.get("data") if isinstance(error.get("data"), dict) else {}
            again = await self._handle_error(item, code, message, data)
            if again:
                follow_ups.append(item)
            elif item.action == "delete" and code == "woocommerce_rest_product_invalid_id":
                results[item.index] = WriteResult(
                    item.op.sku, "deleted", item.product_id,
                    warnings=(*item.warnings, f"product {item.product_id} was already gone"))
            else:
                if code == "woocommerce_rest_product_not_created" and "lookup" in message:
                    message = f"{message} ({TRASHED_SKU_HINT})"
                results[item.index] = self._failed(item, code, message)
        return follow_ups

    async def _handle_error(self, item: _Item, code: str, message: str,
                            data: dict[str, Any]) -> bool:
        """Fix the item for another round when the error allows it; True if it should go."""
        if code == "product_invalid_sku" and item.action == "create" and not item.adopted:
            owner = _int(data.get("resource_id"))
            if not owner:
                found = await self._lookup([item.op.sku])
                owner = found[item.op.sku.lower()].id if item.op.sku.lower() in found else None
            if owner:
                item.adopt(owner, ours=item.lost)
                return True
            return False
        if code in ("woocommerce_product_image_upload_error",
                    "woocommerce_product_invalid_image_id") and item.payload:
            return self._drop_images(item, message)
        return False

    def _drop_images(self, item: _Item, message: str) -> bool:
        assert item.payload is not None
        images = [i for i in item.payload.get("images") or [] if isinstance(i, dict)]
        if not images:
            return False
        item.image_rounds += 1

        def named(img: dict[str, Any]) -> bool:
            src, iid = img.get("src"), img.get("id")
            return (isinstance(src, str) and bool(src) and src in message) or (
                iid is not None and f"#{iid} " in message)

        bad = [i for i in images if named(i)]
        if not bad or item.image_rounds > MAX_IMAGE_ROUNDS:
            bad = images  # the store did not say which one: send none rather than fail
        keep = [i for i in images if i not in bad]
        payload = {k: v for k, v in item.payload.items() if k != "images"}
        if keep:
            payload["images"] = keep
        item.payload = payload
        for img in bad:
            what = img.get("src") or f"#{img.get('id')}"
            item.warnings.append(f"image {what} could not be fetched by the store; "
                                 "sent without it")
        return True

    def _failed(self, item: _Item, code: str, message: str) -> WriteResult:
        return WriteResult(item.op.sku, "failed", item.product_id, code, message,
                           tuple(item.warnings))


def _chunks(items: list[_Item], size: int) -> list[list[_Item]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "", 0, "0") else None
    except (TypeError, ValueError):
        return None
