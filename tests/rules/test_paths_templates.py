"""Field paths into flat, nested JSON and XML-shaped records, and compiled templates."""

from __future__ import annotations

import pytest

from elementafeeds.rules.paths import PathError, compile_path, is_empty, parse_path, to_text
from elementafeeds.rules.templates import TemplateError, compile_template

JSON_RECORD = {
    "id": "P1",
    "price": {"amount": "12.99", "currency": "EUR"},
    "variants": [{"size": "S", "sku": "a"}, {"size": "M", "sku": "b"}, {"sku": "c"}],
    "images": [{"uri": "https://x/1.jpg"}, {"uri": "https://x/2.jpg"}],
    "priceInfo": {"tiers": [{"price": "10"}, {"price": "8"}]},
}
XML_RECORD = {  # one element becomes a dict or text; a repeated one becomes a list
    "g:id": "TV_1",
    "g:price": "159.00 USD",
    "g:shipping": [{"g:country": "US", "g:price": "14.95 USD"},
                   {"g:country": "GB", "g:price": "9.95 GBP"}],
    "g:additional_image_link": ["https://i/1.png", "https://i/2.png"],
    "price": {"#text": "1,299", "@currency": "SEK"},
}


def test_plain_key_reads_the_column_and_missing_is_none():
    assert compile_path("id")(JSON_RECORD) == "P1"
    assert compile_path("nope")(JSON_RECORD) is None


def test_dotted_path_walks_nested_objects():
    assert compile_path("price.amount")(JSON_RECORD) == "12.99"
    assert compile_path("price.missing")(JSON_RECORD) is None


def test_literal_key_with_dots_wins_over_nesting():
    record = {"price.amount": "literal", "price": {"amount": "nested"}}
    assert compile_path("price.amount")(record) == "literal"


def test_star_fans_out_over_lists_and_drops_missing():
    assert compile_path("variants[*].size")(JSON_RECORD) == ["S", "M"]
    assert compile_path("variants[*].sku")(JSON_RECORD) == ["a", "b", "c"]


def test_index_picks_one_element_negative_from_the_end():
    assert compile_path("variants[0].sku")(JSON_RECORD) == "a"
    assert compile_path("variants[-1].sku")(JSON_RECORD) == "c"
    assert compile_path("variants[9].sku")(JSON_RECORD) is None


def test_walking_through_a_list_without_star_maps_over_it():
    assert compile_path("images.uri")(JSON_RECORD) == ["https://x/1.jpg", "https://x/2.jpg"]
    assert compile_path("priceInfo.tiers.price")(JSON_RECORD) == ["10", "8"]


def test_namespaced_xml_keys_and_repeated_elements():
    assert compile_path("g:price")(XML_RECORD) == "159.00 USD"
    assert compile_path("g:shipping[*].g:country")(XML_RECORD) == ["US", "GB"]
    assert compile_path("g:shipping[1].g:price")(XML_RECORD) == "9.95 GBP"
    assert compile_path("g:additional_image_link[*]")(XML_RECORD) == ["https://i/1.png",
                                                                      "https://i/2.png"]


def test_single_element_indexed_as_list_of_one():
    assert compile_path("price[0].amount")(JSON_RECORD) == "12.99"


def test_star_on_missing_field_gives_empty_list():
    assert compile_path("nothing[*].x")(JSON_RECORD) == []


@pytest.mark.parametrize("path", ["", "a..b", ".a", "a[", "a[x]", "a]b", "a[*"])
def test_bad_paths_raise_path_error(path):
    with pytest.raises(PathError):
        parse_path(path)


def test_to_text_of_every_shape():
    assert to_text(None) == ""
    assert to_text("x") == "x"
    assert to_text(True) == "true"
    assert to_text(12) == "12"
    assert to_text(["a", "", "b"]) == "a, b"
    assert to_text(XML_RECORD["price"]) == "1,299"
    assert to_text({"other": "x"}) == ""


def test_is_empty():
    assert is_empty(None) and is_empty("  ") and is_empty([]) and is_empty(["", None])
    assert not is_empty("0") and not is_empty(["", "x"]) and not is_empty(0)


# templates ------------------------------------------------------------------------------------


def test_template_joins_fields_and_literal_text():
    template = compile_template("{brand_name} {product_name}")
    assert template.fields == ("brand_name", "product_name")
    assert template.render({"brand_name": "Hemtex", "product_name": "Pyyhe"}) == "Hemtex Pyyhe"


def test_template_missing_field_renders_empty_and_strips():
    template = compile_template("{brand_name} {product_name}")
    assert template.render({"product_name": "Pyyhe"}) == "Pyyhe"


def test_template_with_paths_and_namespaced_keys():
    assert compile_template("{g:id}-{g:shipping[0].g:country}").render(XML_RECORD) == "TV_1-US"
    assert compile_template("{price.amount} {price.currency}").render(JSON_RECORD) == "12.99 EUR"


def test_template_list_values_join_with_comma():
    assert compile_template("Sizes: {variants[*].size}").render(JSON_RECORD) == "Sizes: S, M"


def test_bare_template_keeps_raw_value():
    template = compile_template("{variants[*].size}")
    assert template.bare is not None
    assert template.bare(JSON_RECORD) == ["S", "M"]


def test_constant_template_and_escaped_braces():
    assert compile_template("Buy now").render({}) == "Buy now"
    assert compile_template("{{literal}} {id}").render(JSON_RECORD) == "{literal} P1"


@pytest.mark.parametrize("source", ["{", "{name", "a}b", "{}", "{a{b}}", "{a..b}"])
def test_bad_templates_raise(source):
    with pytest.raises(TemplateError):
        compile_template(source)


def test_missing_lists_the_empty_placeholders():
    template = compile_template("{a}-{b}")
    assert template.missing({"a": "x", "b": " "}) == ["b"]
