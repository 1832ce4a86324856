"""The WooCommerce destination against the real sandbox over HTTP: auth, writes, lookups."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from dest_helpers import RecordingTransport, creates, destination

from elementafeeds.destinations.base import WriteOp
from elementafeeds.errors import SiteError
from elementafeeds.sandbox.testing import SandboxHandle


def test_oauth1_signatures_over_plain_http_are_accepted_and_check_says_so(
        wc: SandboxHandle) -> None:
    async def main() -> dict:
        async with destination(wc) as dest:
            return await dest.check()

    report = asyncio.run(main())
    assert report["reachable"] and report["auth_ok"] and report["can_write"], report
    assert report["version"].startswith("WooCommerce ")
    assert wc.products() == []  # the write check wrote nothing


def test_wrong_secret_is_a_fatal_site_error_with_a_hint(
        wc: SandboxHandle, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EF_TEST_WC_SECRET", "cs_wrong")

    async def main() -> None:
        async with destination(wc) as dest:
            report = await dest.check()
            assert report["reachable"] and not report["auth_ok"]
            await dest.write(creates(1))

    with pytest.raises(SiteError) as info:
        asyncio.run(main())
    exc = info.value
    assert exc.status == 401 and exc.code == "woocommerce_rest_authentication_error"
    assert "consumer secret is wrong" in (exc.hint or "") and exc.exit_code == 4
    assert wc.products() == []


def test_basic_auth_over_plain_http_is_refused_with_the_oauth1_hint(wc: SandboxHandle) -> None:
    async def main() -> None:
        async with destination(wc, auth="basic") as dest:
            await dest.find_by_skus(["a"])

    with pytest.raises(SiteError) as info:
        asyncio.run(main())
    assert info.value.status == 401 and "auth: oauth1" in (info.value.hint or "")


def test_creates_updates_and_deletes_travel_in_batches_of_batch_size(wc: SandboxHandle) -> None:
    rec = RecordingTransport()

    async def main() -> tuple[list, list, list]:
        async with destination(wc, transport=rec, limits={"batch_size": 10}) as dest:
            created = await dest.write(creates(25))
            ids = {r.sku: r.product_id for r in created}
            updated = await dest.write(
                [WriteOp("update", f"SKU-{i}", {"regular_price": "5.00"}, ids[f"SKU-{i}"])
                 for i in range(5)]
                + [WriteOp("update", "sku-5", {"name": "found by SKU"})])  # no id: looked up
            deleted = await dest.write([WriteOp("delete", "SKU-20", None, ids["SKU-20"]),
                                        WriteOp("delete", "SKU-21", None),
                                        WriteOp("delete", "NEVER-THERE", None)])
            return created, updated, deleted

    created, updated, deleted = asyncio.run(main())
    assert [r.status for r in created] == ["created"] * 25
    assert [r.sku for r in created] == [f"SKU-{i}" for i in range(25)]
    assert sorted(rec.batches[:3]) == [5, 10, 10]
    assert [r.status for r in updated] == ["updated"] * 6
    assert [r.status for r in deleted] == ["deleted"] * 3 and deleted[2].warnings
    products = {p["sku"]: p for p in wc.products()}
    assert len(products) == 23 and "SKU-20" not in products
    assert products["SKU-0"]["regular_price"] == "5.00"
    assert products["SKU-5"]["name"] == "found by SKU"


def test_categories_resolve_by_name_or_path_and_unknown_ones_fail_the_item(
        wc: SandboxHandle) -> None:
    wc.seed_categories([{"name": "Garden", "children": [{"name": "Tools"}]},
                        {"name": "Kitchen", "children": [{"name": "Tools"}]},
                        {"name": "Fish & Chips"}])
    wc.seed_attributes([{"name": "Color", "terms": ["Red"]}])

    async def main() -> tuple[list, list[dict]]:
        async with destination(wc) as dest:
            results = await dest.write([
                WriteOp("create", "C-1", {"name": "a", "categories": [{"name": "garden > tools"}],
                                          "attributes": [{"name": "color", "options": ["Red"],
                                                          "visible": True},
                                                         {"name": "Material",
                                                          "options": ["Oak"]}]}),
                WriteOp("create", "C-2", {"name": "b", "categories": [{"name": "Fish & Chips"}]}),
                WriteOp("create", "C-3", {"name": "c", "categories": [{"name": "Nowhere"}]}),
                WriteOp("create", "C-4", {"name": "d", "categories": [{"name": "Tools"}]}),
            ])
            return results, await dest.categories()

    results, tree = asyncio.run(main())
    paths = {c["path"]: c["id"] for c in tree}
    assert {"Garden > Tools", "Kitchen > Tools", "Fish & Chips"} <= set(paths)
    assert [r.status for r in results] == ["created", "created", "failed", "failed"]
    assert results[2].code == "unknown_category" and "ef map" in (results[2].message or "")
    assert results[3].code == "ambiguous_category" and "Kitchen > Tools" in results[3].message
    by_sku = {p["sku"]: p for p in wc.products()}
    assert [c["id"] for c in by_sku["C-1"]["categories"]] == [paths["Garden > Tools"]]
    attrs = {a["name"]: a for a in by_sku["C-1"]["attributes"]}
    assert attrs["Color"]["id"] > 0 and attrs["Material"]["id"] == 0
    assert set(by_sku) == {"C-1", "C-2"}


def test_create_category_reuses_an_existing_term(wc: SandboxHandle) -> None:
    async def main() -> tuple[int, int, int]:
        async with destination(wc) as dest:
            first = await dest.create_category("Lamps")
            again = await dest.create_category("lamps")
            child = await dest.create_category("Desk", parent=first)
            return first, again, child

    first, again, child = asyncio.run(main())
    assert first == again and child != first
    assert Counter(t["name"] for t in wc.terms())["Lamps"] == 1


def test_product_invalid_sku_on_create_becomes_an_update_of_the_owner(wc: SandboxHandle) -> None:
    [owner] = wc.seed_products([{"name": "old", "sku": "dup-x", "status": "draft"}])

    async def main() -> list:
        async with destination(wc) as dest:
            return await dest.write([WriteOp("create", "DUP-X", {"name": "new"})])

    [result] = asyncio.run(main())
    assert (result.status, result.product_id) == ("updated", owner)
    [product] = wc.products()
    assert product["name"] == "new" and product["id"] == owner


def test_an_image_the_store_cannot_fetch_is_dropped_with_a_warning(wc: SandboxHandle) -> None:
    wc.configure(unreachable_image_hosts=["dead.example"])
    good, bad = "https://img.example/a.jpg", "https://dead.example/b.jpg"

    async def main() -> list:
        async with destination(wc) as dest:
            return await dest.write(creates(2, images=[{"src": bad}, {"src": good}]))

    results = asyncio.run(main())
    assert [r.status for r in results] == ["created", "created"]
    assert results[0].warnings == (
        f"image {bad} could not be fetched by the store; sent without it",)
    for product in wc.products():
        [image] = product["images"]  # the store serves its own copy of the good one
        assert image["src"].endswith("/a.jpg")


def test_a_sku_held_by_a_trashed_product_fails_with_a_hint(wc: SandboxHandle) -> None:
    wc.seed_products([{"name": "gone", "sku": "T-1", "status": "trash"}])

    async def main() -> list:
        async with destination(wc) as dest:
            assert await dest.find_by_skus(["T-1"]) == {}  # trashed products are not listed
            return await dest.write([WriteOp("create", "T-1", {"name": "again"})])

    [result] = asyncio.run(main())
    assert result.status == "failed" and result.code == "woocommerce_rest_product_not_created"
    assert "empty the trash" in (result.message or "")


def test_find_by_skus_chunks_past_100_and_ignores_case(wc: SandboxHandle) -> None:
    ids = wc.seed_products([{"name": f"p{i}", "sku": f"Bulk-{i}",
                             "status": "draft" if i % 50 == 0 else "publish"}
                            for i in range(250)])
    rec = RecordingTransport()

    async def main() -> dict:
        async with destination(wc, transport=rec) as dest:
            return await dest.find_by_skus([f"BULK-{i}" for i in range(260)])

    found = asyncio.run(main())
    assert set(found) == {f"bulk-{i}" for i in range(250)}
    assert found["bulk-0"].id == ids[0] and found["bulk-0"].status == "draft"
    assert sorted((len(c) for c in rec.sku_lookups), reverse=True) == [100, 100, 60]


def test_iter_products_pages_every_product_once_by_id(wc: SandboxHandle) -> None:
    wc.seed_products([{"name": f"p{i}", "sku": f"I-{i}"} for i in range(230)])

    async def main() -> list[int]:
        async with destination(wc) as dest:
            return [p.id async for p in dest.iter_products(per_page=50)]

    ids = asyncio.run(main())
    assert len(ids) == 230 and ids == sorted(set(ids))


def test_missing_categories_can_be_created_instead_of_failing_the_product(
        wc: SandboxHandle) -> None:
    wc.seed_categories([{"name": "Home"}])
    ops = [WriteOp("create", f"M-{i}", {"name": "m", "categories": [{"name": "Home > Lamps"},
                                                                    {"name": "Outdoor"}]})
           for i in range(6)]

    async def main() -> list:
        async with destination(wc, create_missing_categories=True,
                               limits={"batch_size": 2}) as dest:
            return await dest.write(ops)

    results = asyncio.run(main())
    assert [r.status for r in results] == ["created"] * 6
    names = Counter(t["name"] for t in wc.terms())
    assert names["Lamps"] == 1 and names["Outdoor"] == 1 and names["Home"] == 1
