"""Merging suggestions into a connection's YAML: only the added lines change."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest
import yaml

from elementafeeds.config.yaml_source import parse_documents
from elementafeeds.errors import UsageError
from elementafeeds.mapping.yaml_edit import Changes, plan_edit, render_snippet, save_edit

FILE = """\
# Feeds of Hemtex. The first document is not ours and must not move a byte.
kind: feed
name: hemtex   # trailing comment
url:   feeds/awin.csv
---
# The connection.
kind: connection
name: hemtex-to-shop
feed: hemtex
site: shop
sku: 'hemtex-{merchant_product_id}'     # single quotes, odd spacing
fields:
    name: '{product_name}'     # four-space indent here
    images: ["{merchant_image_url}"]
categories:
  source: merchant_category
  map:
    "Koti > Tekstiilit": [Kodintekstiilit]   # by hand
    # "Koti > Sisustus": [Sisustus]   (commented out)
  # a note at the categories level
  unmapped: skip
attributes:
- {name: Väri, from: colour}
# the stale policy
stale: {action: hide}
---
kind: connection
name: other
feed: hemtex
site: shop
sku: x
"""

CHANGES = Changes(
    category_map={"Vaatteet > Paidat": ["Vaatteet > Paidat"],
                  "koti  >  tekstiilit": ["Other"]},       # the same key as the existing one
    fields={"sale_price": {"from": "search_price", "transform": ["price"]},
            "name": "{title}"},                             # exists: never replaced
    attributes=[{"name": "Koko", "from": "Fashion:size", "split": ","},
                {"name": "väri", "from": "color"}],           # exists (case ignored)
)


def write(tmp_path: Path, text: str, name: str = "hemtex.yaml") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def only_added_lines(old: str, new: str) -> list[str]:
    """The new text's extra lines, asserting that no old line changed or moved."""
    added = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(
            None, old.splitlines(True), new.splitlines(True), autojunk=False).get_opcodes():
        assert tag in ("equal", "insert"), (tag, old.splitlines(True)[i1:i2])
        if tag == "insert":
            added += new.splitlines(True)[j1:j2]
    return added


def test_round_trip_changes_nothing_but_the_added_entries(tmp_path: Path) -> None:
    path = write(tmp_path, FILE)
    edit = plan_edit(path, "connections/hemtex.yaml", "hemtex-to-shop", CHANGES)
    added = only_added_lines(FILE, edit.new_text)
    assert added == [
        '    sale_price: {from: search_price, transform: [price]}\n',
        '    "Vaatteet > Paidat": [Vaatteet > Paidat]\n',
        '- {name: Koko, from: Fashion:size, split: ","}\n',
    ]
    assert edit.added == ["categories.map['Vaatteet > Paidat']", "fields.sale_price",
                          "attributes[Koko]"]
    assert sorted(edit.kept) == ["attributes[väri]", "categories.map['koti  >  tekstiilit']",
                                 "fields.name"]
    docs = list(yaml.safe_load_all(edit.new_text))
    conn = docs[1]
    assert conn["categories"]["map"]["Koti > Tekstiilit"] == ["Kodintekstiilit"]
    assert conn["fields"]["name"] == "{product_name}"
    assert conn["attributes"][1] == {"name": "Koko", "from": "Fashion:size", "split": ","}
    assert docs[0] == yaml.safe_load(FILE.split("---")[0]) and docs[2]["name"] == "other"
    _, problems = parse_documents(edit.new_text, "x.yaml")
    assert not problems


def test_diff_is_unified_and_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, FILE)
    edit = plan_edit(path, "connections/hemtex.yaml", "hemtex-to-shop", CHANGES)
    assert edit.diff.startswith("--- a/connections/hemtex.yaml\n+++ b/connections/hemtex.yaml")
    assert "+    sale_price: {from: search_price, transform: [price]}" in edit.diff
    assert path.read_text() == FILE  # planning never writes
    save_edit(edit)
    assert path.read_text() == edit.new_text


def test_overwrite_replaces_existing_entries_in_place(tmp_path: Path) -> None:
    path = write(tmp_path, FILE)
    edit = plan_edit(path, "f.yaml", "hemtex-to-shop", CHANGES, overwrite=True)
    conn = list(yaml.safe_load_all(edit.new_text))[1]
    assert conn["categories"]["map"]["Koti > Tekstiilit"] == ["Other"]
    assert next(iter(conn["categories"]["map"])) == "Koti > Tekstiilit"  # the key keeps its place
    assert conn["fields"]["name"] == "{title}"
    assert conn["attributes"][0] == {"name": "väri", "from": "color"}
    assert sorted(edit.replaced) == ["attributes[väri]", "categories.map['koti  >  tekstiilit']",
                                     "fields.name"]


def test_new_sections_go_in_their_usual_place_above_outer_comments(tmp_path: Path) -> None:
    text = "kind: connection\nname: c\nfeed: f\nsite: s\nsku: x\n\n# stale policy\nstale: {}\n"
    path = write(tmp_path, text)
    changes = Changes(category_keys={"source": "merchant_category"},
                      category_map={"A > B": ["B"]}, fields={"name": "{title}"})
    edit = plan_edit(path, "f.yaml", "c", changes)
    assert edit.new_text == (
        "kind: connection\nname: c\nfeed: f\nsite: s\nsku: x\n"
        'fields:\n  name: "{title}"\n'
        'categories:\n  source: merchant_category\n  map:\n    "A > B": [B]\n'
        "\n# stale policy\nstale: {}\n")


def test_empty_flow_mappings_become_blocks(tmp_path: Path) -> None:
    text = "kind: connection\nname: c\nfeed: f\nsite: s\nsku: x\nfields: {}\n" \
           "categories: {source: cat, map: {}}\n"
    edit = plan_edit(write(tmp_path, text), "f.yaml", "c",
                     Changes(category_map={"A": ["B"]}, fields={"name": "{t}"}))
    data = yaml.safe_load(edit.new_text)
    assert data["fields"] == {"name": "{t}"}
    assert data["categories"] == {"source": "cat", "map": {"A": ["B"]}}


def test_crlf_and_bom_are_kept(tmp_path: Path) -> None:
    text = "\ufeff# c\r\nkind: connection\r\nname: c\r\nfeed: f\r\nsite: s\r\nsku: x\r\n" \
           "fields:\r\n  name: '{t}'\r\n"
    path = write(tmp_path, text)
    edit = plan_edit(path, "f.yaml", "c", Changes(fields={"sale_price": "{p}"}))
    save_edit(edit)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf# c\r\n")
    assert raw.endswith(b"  name: '{t}'\r\n  sale_price: \"{p}\"\r\n")
    assert b"\n" not in raw.replace(b"\r\n", b"")


def test_inherited_attributes_are_written_before_new_ones(tmp_path: Path) -> None:
    """A connection's own `attributes:` replaces the preset's list, so they are kept."""
    text = "kind: connection\nname: c\nfeed: f\nsite: s\nsku: x\n"
    changes = Changes(attributes=[{"name": "Koko", "from": "size"}],
                      inherited_attributes=[{"name": "Color", "from": "colour"}])
    edit = plan_edit(write(tmp_path, text), "f.yaml", "c", changes)
    assert yaml.safe_load(edit.new_text)["attributes"] == [
        {"name": "Color", "from": "colour"}, {"name": "Koko", "from": "size"}]


def test_values_yaml_would_misread_are_quoted(tmp_path: Path) -> None:
    text = "kind: connection\nname: c\nfeed: f\nsite: s\nsku: x\n"
    changes = Changes(category_map={"Kids": ["Yes", "On", "2024"]},
                      attributes=[{"name": "No", "from": "x"}])
    edit = plan_edit(write(tmp_path, text), "f.yaml", "c", changes)
    data = yaml.safe_load(edit.new_text)
    assert data["categories"]["map"]["Kids"] == ["Yes", "On", "2024"]
    assert data["attributes"] == [{"name": "No", "from": "x"}]


def test_a_file_changed_meanwhile_is_not_overwritten(tmp_path: Path) -> None:
    path = write(tmp_path, FILE)
    edit = plan_edit(path, "f.yaml", "hemtex-to-shop", CHANGES)
    path.write_text(FILE + "# edited by hand\n")
    with pytest.raises(UsageError, match="changed while ef map"):
        save_edit(edit)
    assert path.read_text().endswith("# edited by hand\n")


def test_nothing_to_add_leaves_the_text_alone(tmp_path: Path) -> None:
    path = write(tmp_path, FILE)
    edit = plan_edit(path, "f.yaml", "hemtex-to-shop",
                     Changes(fields={"name": "{x}"}, category_map={"Koti > Tekstiilit": ["Y"]}))
    assert not edit.changed and edit.diff == ""


def test_snippet_is_yaml_with_notes() -> None:
    text = render_snippet(
        Changes(category_keys={"source": "cat"}, category_map={"A > B": ["X > B"]},
                fields={"regular_price": {"from": "price", "transform": ["price"]}},
                attributes=[{"name": "Koko", "from": "size", "split": ","}]),
        {("categories.map", "A > B"): "score 92 · 3 records"})
    assert '    "A > B": [X > B]  # score 92 · 3 records\n' in text
    assert yaml.safe_load(text) == {
        "categories": {"source": "cat", "map": {"A > B": ["X > B"]}},
        "fields": {"regular_price": {"from": "price", "transform": ["price"]}},
        "attributes": [{"name": "Koko", "from": "size", "split": ","}]}
    assert render_snippet(Changes()) == ""
