"""The suggesters on plain inputs: category matching and coverage, fields, attributes."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from elementafeeds.config.models import Attribute, Categories
from elementafeeds.mapping.effective import load_for_mapping
from elementafeeds.mapping.feed_scan import scan_records
from elementafeeds.mapping.suggest_attributes import suggest_attributes
from elementafeeds.mapping.suggest_categories import suggest_categories
from elementafeeds.mapping.suggest_fields import name_similarity, suggest_fields, words

from .conftest import AWIN_CATEGORIES, SHARED_FEEDS, awin_rows

SITE = [
    {"id": 1, "name": "Kodintekstiilit", "parent": 0, "path": "Kodintekstiilit"},
    {"id": 2, "name": "Lakanat", "parent": 1, "path": "Kodintekstiilit > Lakanat"},
    {"id": 3, "name": "Pyyhkeet", "parent": 1, "path": "Kodintekstiilit > Pyyhkeet"},
    {"id": 4, "name": "Sisustus", "parent": 0, "path": "Sisustus"},
    {"id": 5, "name": "Tyynyt", "parent": 4, "path": "Sisustus > Tyynyt"},
    {"id": 6, "name": "Vaatteet", "parent": 0, "path": "Vaatteet"},
    {"id": 7, "name": "Paidat", "parent": 6, "path": "Vaatteet > Paidat"},
    {"id": 8, "name": "Lakanat", "parent": 6, "path": "Vaatteet > Lakanat"},
]
CATS = Categories(source="merchant_category", unmapped="skip",
                  map={"Koti > Tekstiilit": ["Kodintekstiilit"]})


def by_path(report: Any) -> dict[str, Any]:
    return {row.path: row for row in report.rows}


def test_suggestions_for_known_paths_match_leaf_and_parents() -> None:
    scan = scan_records(awin_rows(), CATS)
    report = suggest_categories(scan, CATS, SITE, min_score=70)
    rows = by_path(report)
    # the leaf decides, the levels above pick among namesakes
    assert rows["Koti > Tekstiilit > Lakanat"].suggestion.path == "Kodintekstiilit > Lakanat"
    assert rows["Koti > Sisustus > Tyynyt"].suggestion.id == 5
    assert rows["Vaatteet > Paidat"].suggestion.score == 100.0
    # no leaf on the site: the parent, at a cost
    housut = rows["Vaatteet > Housut"].suggestion
    assert (housut.path, housut.score) == ("Vaatteet", 90.0)
    assert rows["Lelut"].suggestion is None
    # mapped now through the shorter configured path: shown, not accepted
    lakanat = rows["Koti > Tekstiilit > Lakanat"]
    assert lakanat.current == ["Kodintekstiilit"] and lakanat.current_via == "Koti > Tekstiilit"
    assert not lakanat.accepted
    assert report.accepted == {"Vaatteet > Paidat": ["Vaatteet > Paidat"],
                               "Koti > Sisustus > Tyynyt": ["Sisustus > Tyynyt"],
                               "Vaatteet > Housut": ["Vaatteet"]}
    assert [r.records for r in report.rows] == sorted((r.records for r in report.rows),
                                                      reverse=True)


def test_coverage_now_and_with_suggestions() -> None:
    scan = scan_records(awin_rows(), CATS)
    coverage = suggest_categories(scan, CATS, SITE, min_score=70).coverage
    assert len(AWIN_CATEGORIES) == coverage["records"] == 22
    assert coverage["mapped_now"] == 8 and coverage["mapped_with_suggestions"] == 20
    assert coverage["no_category"] == 1
    assert (coverage["paths"], coverage["paths_mapped_now"],
            coverage["paths_mapped_with_suggestions"]) == (6, 2, 5)
    assert coverage["share_with_suggestions"] == pytest.approx(20 / 22, abs=1e-4)


def test_min_score_holds_back_weak_matches() -> None:
    scan = scan_records(awin_rows(), CATS)
    report = suggest_categories(scan, CATS, SITE, min_score=95)
    assert by_path(report)["Vaatteet > Housut"].suggestion is None
    assert report.coverage["mapped_with_suggestions"] == 18


def test_exact_entries_are_replaced_only_with_overwrite() -> None:
    cats = CATS.model_copy(update={"map": {**CATS.map, "vaatteet > paidat": ["Vanha"]}})
    scan = scan_records(awin_rows(), cats)
    kept = suggest_categories(scan, cats, SITE, min_score=70)
    assert "Vaatteet > Paidat" not in kept.accepted
    assert by_path(kept)["Vaatteet > Paidat"].current == ["Vanha"]
    assert kept.missing_targets == ["Vanha"]  # the site has no such category
    replaced = suggest_categories(scan, cats, SITE, min_score=70, overwrite=True)
    assert replaced.accepted["Vaatteet > Paidat"] == ["Vaatteet > Paidat"]
    assert replaced.missing_targets == []  # "Vanha" is being replaced, not created
    # a path mapped only through a shorter entry gets no entry of its own, even so
    assert "Koti > Tekstiilit > Lakanat" not in replaced.accepted


def test_sample_limits_the_records_read() -> None:
    scan = scan_records(iter(awin_rows()), CATS, sample=5)
    assert scan.records == 5 and scan.sampled
    assert scan.path_counts() == {"Koti > Tekstiilit > Lakanat": 5}


def test_create_missing_mirrors_unmatched_paths_parents_first() -> None:
    cats = CATS.model_copy(update={"map": {**CATS.map, "Lelut": ["Lelut > Palapelit"]}})
    rows = [{**r, "merchant_category": "Harrastus > Pelit > Lautapelit"} for r in awin_rows()[:2]]
    scan = scan_records(rows + awin_rows(), cats)
    report = suggest_categories(scan, cats, SITE, min_score=70, create_missing=True)
    mirror = by_path(report)["Harrastus > Pelit > Lautapelit"].suggestion
    assert mirror.create and mirror.id is None
    assert report.missing_targets == ["Lelut > Palapelit", "Harrastus > Pelit > Lautapelit"]
    assert report.to_create == ["Harrastus", "Lelut", "Harrastus > Pelit", "Lelut > Palapelit",
                                "Harrastus > Pelit > Lautapelit"]


def test_real_woocommerce_sample_feed_finds_its_source_and_tree() -> None:
    with (SHARED_FEEDS / "woocommerce-sample-products.csv").open(encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    scan = scan_records(rows, Categories())
    assert (scan.category_source, scan.delimiter, scan.source_suggested) == (
        "Categories", " > ", True)
    site = [{"id": 10, "path": "Clothing"}, {"id": 11, "path": "Clothing > T-shirts"},
            {"id": 12, "path": "Clothing > Hoodies"}, {"id": 13, "path": "Music"}]
    report = suggest_categories(scan, Categories(), site, min_score=70)
    rows_ = by_path(report)
    assert rows_["Clothing > Tshirts"].suggestion.path == "Clothing > T-shirts"
    assert rows_["Clothing > Hoodies"].records == 4
    assert report.coverage["no_category"] == 7  # variations carry no category


# ---------------------------------------------------------------------------------------------
# fields


def _workspace(tmp_path: Path, columns: list[str], rows: list[dict[str, str]],
               network: str | None = None) -> tuple[Any, Any]:
    root = tmp_path / "ws"
    (root / "connections").mkdir(parents=True)
    (root / "feeds").mkdir()
    with (root / "feeds" / "f.csv").open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    net = f"network: {network}\n" if network else ""
    (root / "connections" / "all.yaml").write_text(
        "kind: site\nname: shop\nurl: https://shop.example\n"
        "credentials: {consumer_key: '${K}', consumer_secret: '${S}'}\n---\n"
        f"kind: feed\nname: f\nurl: feeds/f.csv\n{net}---\n"
        "kind: connection\nname: c\nfeed: f\nsite: shop\nsku: 'x-{id}'\n")
    ws, rules, _ = load_for_mapping(root, "c")
    return ws, rules


def test_fields_from_awin_column_names_without_a_network(tmp_path: Path) -> None:
    rows = awin_rows()
    ws, rules = _workspace(tmp_path, list(rows[0]), rows)
    report = suggest_fields(ws, rules, scan_records(rows, rules.categories), None,
                            min_score=70)
    assert report.detected_network == "awin" and "network: awin" in report.hint
    block = report.block
    assert block["name"] == {"from": "product_name", "transform": ["strip_html"]}
    assert block["regular_price"] == {"from": ["rrp_price", "search_price"],
                                      "transform": ["price", "first_non_empty"]}
    assert block["sale_price"] == {"from": "search_price", "transform": ["price"]}
    assert block["external_url"] == "{aw_deep_link}"
    assert block["images"] == ["{merchant_image_url}"]
    assert block["meta.brand"] == "{brand_name}"
    assert block["meta.ean"] == "{ean}"
    assert report.sku.status == "broken" and report.sku.suggestion == "{merchant_product_id}"


def test_fields_from_google_merchant_column_names(tmp_path: Path) -> None:
    columns = ["id", "title", "description", "link", "image_link", "price", "sale_price",
               "brand", "gtin", "product_type"]
    rows = [{"id": "A1", "title": "Dress", "description": "Blue dress",
             "link": "https://shop.example/a1", "image_link": "https://img.example/a1.jpg",
             "price": "99 USD", "sale_price": "79 USD", "brand": "Acme",
             "gtin": "00012345678905", "product_type": "Apparel > Dresses"}]
    ws, rules = _workspace(tmp_path, columns, rows)
    report = suggest_fields(ws, rules, scan_records(rows, rules.categories), None,
                            min_score=70)
    assert report.detected_network == "google_merchant"
    assert report.block["name"] == {"from": "title", "transform": ["strip_html"]}
    assert report.block["external_url"] == "{link}"
    assert report.block["images"] == ["{image_link}"]
    assert report.block["meta.ean"] == "{gtin}"
    assert report.sku.status == "mapped"  # x-{id} reads a column the feed has


def test_fields_by_similarity_check_the_values(tmp_path: Path) -> None:
    columns = ["Artikelnummer", "Product Title", "Long description", "Price EUR",
               "Shipping price", "Deeplink", "Picture", "Manufacturer"]
    rows = [{"Artikelnummer": "1", "Product Title": "Lamp", "Long description": "A lamp",
             "Price EUR": "19,90", "Shipping price": "4,90", "Deeplink": "not a url",
             "Picture": "https://img.example/1.jpg", "Manufacturer": "Lampco"}]
    ws, rules = _workspace(tmp_path, columns, rows)
    report = suggest_fields(ws, rules, scan_records(rows, rules.categories), None,
                            min_score=70)
    block = report.block
    assert report.detected_network is None
    assert block["name"] == "{Product Title}"
    assert block["description"] == "{Long description}"
    assert block["regular_price"] == {"from": "Price EUR", "transform": ["price"]}
    assert block["images"] == ["{Picture}"]
    assert block["meta.brand"] == "{Manufacturer}"
    assert "external_url" not in block  # Deeplink holds no URL
    rows_ = {r.field: r for r in report.rows}
    assert rows_["name"].reason == "similar column name" and rows_["name"].score >= 70


def test_mapped_fields_are_left_alone_when_the_network_preset_applies(tmp_path: Path) -> None:
    rows = awin_rows()
    ws, rules = _workspace(tmp_path, list(rows[0]), rows, network="awin")
    report = suggest_fields(ws, rules, scan_records(rows, rules.categories), "awin",
                            min_score=70)
    statuses = {r.field: r.status for r in report.rows}
    assert statuses["name"] == statuses["regular_price"] == statuses["external_url"] == "mapped"
    assert statuses["short_description"] == "inactive"  # the preset's columns are absent
    assert "name" not in report.block and report.hint is None


def test_column_words() -> None:
    assert words("g:image_link") == "image link"
    assert words("productURL") == "product url"
    assert words("Fashion:size") == "size"
    assert name_similarity("search_price", ("search price",)) == 100
    assert name_similarity("delivery_price", ("price",)) < name_similarity("price", ("price",))


# ---------------------------------------------------------------------------------------------
# attributes


SITE_ATTRS = [
    {"id": 1, "name": "Väri", "slug": "pa_vari",
     "terms": [{"name": "Punainen"}, {"name": "Musta"}, {"name": "Sininen"}]},
    {"id": 2, "name": "Koko", "slug": "pa_koko", "terms": [{"name": n} for n in "SML"]},
    {"id": 3, "name": "Tyyli", "slug": "pa_tyyli",
     "terms": [{"name": "Klassinen"}, {"name": "Moderni"}, {"name": "Rustiikki"}]},
]


def test_attributes_pair_columns_with_global_attributes() -> None:
    moods = ["Klassinen", "Moderni", "Rustiikki", "Leikkisä"]  # three of four are terms
    rows = [{**r, "mood": moods[i % 4], "material": "Puuvilla"}
            for i, r in enumerate(awin_rows())]
    report = suggest_attributes(scan_records(rows, CATS), SITE_ATTRS, [], min_score=70)
    by_name = {s["name"]: s for s in report.suggestions}
    assert by_name["Väri"]["from"] == "colour" and by_name["Väri"]["global"]
    assert by_name["Koko"] == {**by_name["Koko"], "from": "Fashion:size", "split": ","}
    assert by_name["Tyyli"]["from"] == "mood"  # by terms in common, not by name
    assert by_name["Tyyli"]["reason"] == "terms in common"
    assert by_name["Material"]["global"] is False  # no global material attribute
    assert "Brand" not in by_name  # brand is a field unless the site has the attribute
    assert {"name": "Väri", "from": "colour"} in report.entries


def test_configured_attributes_are_not_suggested_again() -> None:
    done = [Attribute.model_validate({"name": "väri", "from": "colour"})]
    report = suggest_attributes(scan_records(awin_rows(), CATS), SITE_ATTRS, done,
                                min_score=70)
    assert [s["name"] for s in report.suggestions] == ["Koko"]
    assert report.site[0]["configured"] is True


def test_wordpress_sites_get_no_attributes() -> None:
    report = suggest_attributes(scan_records(awin_rows(), CATS), [], [], min_score=70,
                                platform="wordpress")
    assert report.suggestions == [] and "meta" in report.note
