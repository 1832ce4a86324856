"""check_workspace: every rules problem located with file and line, with a useful hint."""

from __future__ import annotations

import pytest
from rules_support import connection_yaml

from elementafeeds.errors import ConfigError
from elementafeeds.rules import build_ruleset, check_workspace


def problems_of(loose_workspace, files):
    ws = loose_workspace(files)
    return ws, check_workspace(ws)


def only(problems, text):
    found = [p for p in problems if text in p.message]
    assert len(found) == 1, [p.render() for p in problems]
    return found[0]


def test_a_good_workspace_has_no_problems(loose_workspace):
    _, problems = problems_of(loose_workspace, connection_yaml("""
        fields: {description: {from: description, transform: [strip_html]}}
    """, product_type="fashion"))
    assert problems == []


def test_unknown_preset_points_at_product_type(loose_workspace):
    _, problems = problems_of(loose_workspace, connection_yaml("", product_type="fashon"))
    problem = only(problems, "unknown preset 'fashon'")
    assert problem.file.endswith("main.yaml") and problem.line == 5
    assert problem.hint == "did you mean 'fashion'?"


def test_unknown_transform_and_bad_argument_point_at_the_transform(loose_workspace):
    _, problems = problems_of(loose_workspace, connection_yaml("""
        fields:
          name:
            from: product_name
            transform:
              - trim
              - strip_htm
          description: {from: description, transform: [{truncate: -5}]}
    """))
    unknown = only(problems, "unknown transform 'strip_htm'")
    assert (unknown.line, unknown.hint) == (13, "did you mean 'strip_html'?")
    assert only(problems, "truncate needs a length").line == 14


def test_bad_templates_and_paths(loose_workspace):
    _, problems = problems_of(loose_workspace, connection_yaml("""
        fields:
          name: "{product_name"
          images: ["{ok}", {from: "a..b"}]
        filters:
          rules:
            - {any: [{field: "x[", op: empty}]}
        categories: {source: "cat[*"}
        attributes:
          - {name: Väri, template: "}"}
    """, sku="s-{id"))
    assert only(problems, "fields.name: unclosed '{'").line == 9
    assert only(problems, "fields.images: bad field path 'a..b'").line == 10
    assert only(problems, "filter: bad field path 'x['").line == 13
    assert only(problems, "bad field path 'cat[*'").line == 14
    assert only(problems, "attribute: unmatched '}'").line == 16
    assert only(problems, "sku: unclosed").line == 6


def test_unknown_destination_field_and_misplaced_ones(loose_workspace):
    _, problems = problems_of(loose_workspace, connection_yaml("""
        fields:
          descripton: "{description}"
          gtin: "{ean}"
          categories: "{merchant_category}"
          meta.gtin: "{ean}"
    """))
    typo = only(problems, "unknown destination field 'descripton'")
    assert (typo.line, typo.hint) == (9, "did you mean 'description'?")
    assert only(problems, "'gtin'").hint == "write meta.gtin to store it as meta data"
    assert only(problems, "'categories'").hint == "categories are mapped under `categories:`"


def test_set_stock_zero_on_external_products(loose_workspace):
    _, problems = problems_of(loose_workspace, connection_yaml("""
        stale: {action: set_stock_zero}
    """))
    problem = only(problems, "set_stock_zero")
    assert problem.line == 8
    assert "hide" in problem.hint and "draft" in problem.hint


def test_set_stock_zero_is_fine_on_simple_products(loose_workspace):
    _, problems = problems_of(loose_workspace, connection_yaml("""
        fields: {type: simple}
        stale: {action: set_stock_zero}
    """))
    assert problems == []


def test_preset_for_the_wrong_platform(loose_workspace):
    _, problems = problems_of(loose_workspace, connection_yaml("", site="blog"))
    problem = only(problems, "preset 'deal' makes woocommerce items")
    assert problem.line == 5 and "listing or hotel" in problem.hint


def test_feed_without_network_leaves_essentials_unmapped(loose_workspace):
    _, problems = problems_of(loose_workspace, connection_yaml("", feed="plain-feed"))
    messages = {p.message.split(",")[0] for p in problems}
    assert messages == {"nothing maps name", "nothing maps regular_price",
                        "nothing maps external_url"}
    assert "awin, google_merchant" in problems[0].hint


def test_sku_without_placeholder(loose_workspace):
    _, problems = problems_of(loose_workspace, connection_yaml("", sku="fixed"))
    assert "every record would get the same SKU" in only(problems, "has no {field}").message


def test_invalid_workspace_preset_documents_are_located(loose_workspace):
    _, problems = problems_of(loose_workspace, {
        "presets/mine.yaml": """
            kind: preset
            name: mine
            extends: fashion
            destination:
              platfrom: woocommerce
            fields:
              name: {from: x, transform: [nope]}
        """,
        "connections/main.yaml": connection_yaml("", product_type="mine"),
    })
    assert only(problems, "unknown key 'platfrom'").line == 6
    problem = only(problems, "unknown transform 'nope'")
    assert problem.file.endswith("mine.yaml") and problem.line == 8


def test_problems_in_inherited_mappings_point_at_the_workspace_preset(loose_workspace):
    _, problems = problems_of(loose_workspace, {
        "presets/mine.yaml": """
            kind: preset
            name: mine
            extends: fashion
            networks:
              awin:
                fields:
                  name: "{product_name"
        """,
        "connections/main.yaml": connection_yaml("", product_type="mine"),
    })
    problem = only(problems, "unclosed")
    assert problem.file.endswith("mine.yaml") and problem.line == 8
    assert problem.message.startswith("preset 'mine': fields.name")


def test_build_ruleset_raises_config_error_with_the_problems(workspace):
    ws = workspace(connection_yaml("fields: {name: '{x'}"))
    with pytest.raises(ConfigError) as info:
        build_ruleset(ws, "c")
    assert "unclosed" in info.value.problems[0].message
    with pytest.raises(ConfigError):
        build_ruleset(ws, "missing-connection")
