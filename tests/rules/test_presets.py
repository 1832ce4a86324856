"""Built-in presets load and validate; workspace presets override and extend them; the
connection's own fields override the preset's; problems are located."""

from __future__ import annotations

import pytest
from rules_support import connection_yaml

from elementafeeds.config.models import FieldSource
from elementafeeds.rules.presets import (
    PresetError,
    builtin_names,
    builtin_sources,
    normalize_network,
    resolve_preset,
)

NETWORKS = ("awin", "google_merchant", "adtraction", "tradedoubler")


def test_the_issue_presets_are_built_in_and_versioned():
    assert {"deal", "fashion", "furniture", "listing", "hotel"} <= set(builtin_names())
    for name, doc in builtin_sources().items():
        assert isinstance(doc.data.get("version"), int), name


@pytest.mark.parametrize("name", ["deal", "fashion", "furniture", "listing", "hotel",
                                  "external-product"])
@pytest.mark.parametrize("network", [*NETWORKS, None])
def test_every_builtin_resolves_for_every_network(name, network):
    preset = resolve_preset(None, name, network)
    assert preset.version >= 1
    assert set(NETWORKS) <= set(preset.networks) or name == "hotel"


@pytest.mark.parametrize("name", ["deal", "fashion", "furniture"])
def test_woocommerce_presets_make_external_products_with_the_essentials(name):
    preset = resolve_preset(None, name, "awin")
    assert preset.destination.platform == "woocommerce"
    assert preset.destination.type == "external"
    assert {"name", "regular_price", "external_url", "images"} <= set(preset.fields)
    assert "product_url" not in preset.fields
    assert preset.destination.button_text and preset.destination.button_text["fi"]


def test_wordpress_presets():
    listing = resolve_preset(None, "listing", "google merchant")
    assert listing.destination.platform == "wordpress"
    assert listing.destination.post_type == "posts"
    assert {"title", "content", "featured_media_url"} <= set(listing.fields)
    hotel = resolve_preset(None, "hotel", "awin")
    assert hotel.destination.post_type == "hotels"
    assert hotel.chain == ("hotel@1", "listing@1")
    assert "meta.hotel_city" in hotel.fields and "meta.affiliate_url" in hotel.fields


def test_extends_merges_network_blocks():
    fashion = resolve_preset(None, "fashion", "awin")
    assert fashion.chain == ("fashion@1", "external-product@1")
    assert [a.name for a in fashion.attributes] == ["Color", "Size", "Material", "Gender"]
    assert fashion.categories == {"source": "merchant_category", "delimiter": " > "}
    deal = resolve_preset(None, "deal", "awin")
    assert deal.fields["short_description"].from_ == [
        "promotional_text", "product_short_description"]
    assert deal.fields["name"] == fashion.fields["name"]  # inherited
    assert deal.destination.button_text["en"] == "Get the deal"


def test_network_labels_are_normalised():
    assert normalize_network("Google Merchant") == "google_merchant"
    assert normalize_network("GMC") == "google_merchant"
    assert normalize_network("AWIN") == "awin"
    assert normalize_network(None) is None
    assert resolve_preset(None, "fashion", "TradeDoubler").network == "tradedoubler"
    assert resolve_preset(None, "fashion", "cj").network is None


def test_workspace_preset_with_a_builtin_name_overrides_it(workspace):
    ws = workspace({"presets/fashion.yaml": """
        kind: preset
        name: fashion
        version: 2
        destination:
          button_text: {fi: Kauppaan}
        networks:
          awin:
            fields:
              name: "{brand_name} {product_name}"
    """, "connections/main.yaml": connection_yaml("", product_type="fashion")})
    preset = resolve_preset(ws, "fashion", "awin")
    assert preset.chain == ("fashion@2", "fashion@1", "external-product@1")
    assert preset.fields["name"] == "{brand_name} {product_name}"
    assert isinstance(preset.fields["regular_price"], FieldSource)  # still inherited
    assert preset.destination.button_text["fi"] == "Kauppaan"
    assert preset.destination.button_text["sv"] == "Köp nu"


def test_workspace_preset_extends_and_base_override_reaches_children(workspace):
    ws = workspace({"presets/all.yaml": """
        kind: preset
        name: outdoor
        extends: fashion
        networks:
          awin:
            attributes:
              - {name: Season, from: season}
        ---
        kind: preset
        name: external-product
        fields:
          status: draft
    """, "connections/main.yaml": connection_yaml("", product_type="outdoor")})
    preset = resolve_preset(ws, "outdoor", "awin")
    assert preset.chain == ("outdoor@1", "fashion@1", "external-product@1",
                            "external-product@1")
    assert [a.name for a in preset.attributes] == ["Season"]
    assert preset.fields["status"] == "draft"  # the workspace base reaches built-in children
    assert resolve_preset(ws, "deal", "awin").fields["status"] == "draft"


def test_connection_fields_override_the_preset(ruleset):
    rules = ruleset(connection_yaml("""
        fields:
          name: "{product_name} ({brand_name})"
          meta.brand: ""
        attributes:
          - {name: Väri, from: colour}
    """, product_type="fashion"))
    assert rules.fields["name"] == "{product_name} ({brand_name})"
    assert rules.origins["name"] == "connection"
    assert rules.origins["regular_price"] == "preset"
    assert "meta.brand" not in rules.fields  # "" removes an inherited field
    assert [a.name for a in rules.attributes] == ["Väri"]
    assert rules.fields["button_text"] == "Osta nyt"  # the site is Finnish
    assert rules.categories.source == "merchant_category"


def test_connection_categories_keys_override_preset_keys(ruleset):
    rules = ruleset(connection_yaml("""
        categories:
          delimiter: "/"
          map: {"A/B": [X]}
          unmapped: skip
    """))
    assert rules.categories.source == "merchant_category"  # from the preset
    assert rules.categories.delimiter == "/"
    assert rules.categories.unmapped == "skip"


def test_network_document_columns_override_preset_network_fields(ruleset):
    rules = ruleset(connection_yaml("", feed="special"), extra={"connections/net.yaml": """
        kind: network
        name: awin
        columns: {name: title_fi}
        ---
        kind: feed
        name: special
        network: awin
        url: feed.csv
    """})
    assert rules.fields["name"].from_ == "title_fi"
    assert rules.origins["name"] == "network"


def test_unknown_preset_and_cycles_are_located(loose_workspace):
    ws = loose_workspace({"presets/bad.yaml": """
        kind: preset
        name: a
        extends: b
        ---
        kind: preset
        name: b
        extends: a
        ---
        kind: preset
        name: c
        extends: fashon
    """})
    with pytest.raises(PresetError) as cycle:
        resolve_preset(ws, "a", None)
    assert "extends itself" in cycle.value.problems[0].message
    with pytest.raises(PresetError) as unknown:
        resolve_preset(ws, "c", None)
    problem = unknown.value.problems[0]
    assert problem.message == "unknown preset 'fashon'"
    assert problem.hint == "did you mean 'fashion'?"
    assert problem.file.endswith("bad.yaml") and problem.line == 12
