"""Every transform, its argument forms and bad arguments, and plugin transforms."""

from __future__ import annotations

import sys
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from elementafeeds.rules import registry, transforms
from elementafeeds.rules.registry import compile_chain, compile_transform, known_transforms
from elementafeeds.rules.transforms import TransformError, TransformSpecError


def run(spec, value):
    return compile_transform(spec)(value)


def test_text_case_and_trim():
    assert run("trim", "  a b  ") == "a b"
    assert run("lower", "ÄBC") == "äbc"
    assert run("upper", "äbc") == "ÄBC"
    assert run("title", "it's a BIG day") == "It's A Big Day"


def test_text_transforms_apply_to_each_list_element_and_keep_none():
    assert run("upper", ["a", "b"]) == ["A", "B"]
    assert run("trim", None) is None


def test_strip_html_drops_tags_scripts_comments_and_decodes_entities():
    html = ("<p>Hyvä <b>pyy</b>he &amp; <i>froteé</i></p><script>alert(1)</script>"
            "<!-- c --><ul><li>a</li><li>b\n  c</li></ul>&nbsp;end")
    assert run("strip_html", html) == "Hyvä pyyhe & froteé a b c end"


def test_html_to_text_keeps_paragraphs_and_list_items():
    html = "<p>First</p><p>Second <br>line</p><ul><li>one</li><li>two</li></ul>"
    assert run("html_to_text", html) == "First\nSecond\nline\n\n• one\n• two"
    assert run("html_to_text", "plain\n\n\n\ntext") == "plain\n\ntext"


def test_truncate_at_a_word_boundary_with_suffix():
    text = "Kylpypyyhe pehmeää puuvillaa sinisenä"
    assert run({"truncate": 20}, text) == "Kylpypyyhe pehmeää…"
    assert len(run({"truncate": 20}, text)) <= 20
    assert run({"truncate": 100}, text) == text
    assert run({"truncate": {"length": 12, "suffix": "..."}}, text) == "Kylpypyyh..."


def test_replace_one_or_many():
    assert run({"replace": {"from": "&", "to": "ja"}}, "A & B") == "A ja B"
    assert run({"replace": [{"from": "a", "to": "b"}, {"from": "b", "to": "c"}]}, "a") == "c"
    assert run({"replace": {"from": " cm"}}, "50 cm") == "50"


def test_regex_extract_group_or_whole_match():
    assert run({"regex_extract": r"(\d+)"}, "Size 42 EU") == "42"
    assert run({"regex_extract": r"\d+ EU"}, "Size 42 EU") == "42 EU"
    assert run({"regex_extract": {"pattern": r"(\d+)x(\d+)", "group": 2}}, "50x70") == "70"
    assert run({"regex_extract": r"(\d+)"}, "none") == ""


@pytest.mark.parametrize(("text", "expected"), [
    ("12,99 €", "12.99"), ("1.299,00", "1299.00"), ("1,299.00", "1299.00"), ("99", "99.00"),
    ("12.995", "13.00"), ("0", None), ("0,00", None), ("", None), ("call us", None),
])
def test_price_gives_two_decimals_and_none_for_no_price(text, expected):
    assert run("price", text) == expected


def test_price_on_a_list_keeps_the_prices():
    assert run("price", ["0", "19,90", ""]) == ["19.90"]


def test_multiply_add_round_chain():
    chain = compile_chain(["price", {"multiply": 1.24}, {"add": "0,5"}, "round"])
    assert chain("10,00") == Decimal("12.90")
    assert run({"round": 0}, "12,5") == Decimal(13)
    assert run({"multiply": 2}, "") is None


def test_arithmetic_on_text_that_is_not_a_number_fails_the_record():
    with pytest.raises(TransformError, match="not a number"):
        run({"multiply": 2}, "abc")


@pytest.mark.parametrize(("text", "expected"), [
    ("yes", True), ("Ja", True), ("1", True), ("no", False), ("0", False), ("maybe", None),
    ("", None),
])
def test_bool(text, expected):
    assert run("bool", text) is expected


def test_split_and_join():
    assert run({"split": "|"}, "a | b||c") == ["a", "b", "c"]
    assert run("split", "S, M,L") == ["S", "M", "L"]
    assert run({"join": " / "}, ["a", "", "b"]) == "a / b"
    assert run("join", "already text") == "already text"


def test_map_table_with_yaml_boolean_keys_and_fallback():
    # YAML reads `yes:`/`no:` keys as booleans: the table still matches the feed's words
    table = {True: "instock", False: "outofstock"}
    assert run({"map": table}, "yes") == "instock"
    assert run({"map": table}, "1") == "instock"
    assert run({"map": table}, "No") == "outofstock"
    assert run({"map": {"S": "Small", "*": "Other"}}, "XL") == "Other"
    assert run({"map": {"s": "Small"}}, "S") == "Small"
    assert run({"map": {"S": "Small"}}, "XL") == "XL"
    assert run({"map": {"S": "Small"}}, ["S", "M"]) == ["Small", "M"]


def test_default_first_non_empty_and_slug():
    assert run({"default": "Buy"}, "  ") == "Buy"
    assert run({"default": "Buy"}, "Go") == "Go"
    assert run("first_non_empty", [None, " ", "b", "c"]) == "b"
    assert run("first_non_empty", []) is None
    assert run("slug", "Kylpypyyhe Ärrä & Straße 50×70") == "kylpypyyhe-arra-strasse-50x70"


@pytest.mark.parametrize("spec", [
    "trimm", {"truncate": 0}, {"truncate": "x"}, {"replace": "a"}, {"replace": {"from": ""}},
    {"regex_extract": "("}, {"regex_extract": {"pattern": "a", "group": 3}}, {"multiply": "x"},
    {"multiply": True}, {"round": 11}, {"split": ""}, {"join": 3}, {"map": {}}, {"default": None},
    {"trim": 1}, {"price": 2}, {"first_non_empty": ["a"]}, {"a": 1, "b": 2}, 42,
])
def test_bad_transform_specs(spec):
    with pytest.raises(TransformSpecError):
        compile_transform(spec)


def test_unknown_transform_suggests_a_close_name():
    with pytest.raises(TransformSpecError) as info:
        compile_transform("strip_htm")
    assert info.value.hint == "did you mean 'strip_html'?"


def test_every_issue_transform_is_built_in():
    for name in ("trim", "lower", "upper", "title", "strip_html", "html_to_text", "truncate",
                 "replace", "regex_extract", "price", "multiply", "add", "round", "bool",
                 "split", "join", "map", "default", "slug", "first_non_empty"):
        assert name in transforms.BUILTIN


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A real installed distribution with an `elementafeeds.transforms` entry point."""
    (tmp_path / "ef_reverse.py").write_text(textwrap.dedent('''
        def factory(arg):
            if arg not in (None, "upper"):
                raise ValueError("reverse takes nothing or 'upper'")
            if arg == "upper":
                return lambda value: value[::-1].upper()
            return lambda value: value[::-1]
    '''))
    info = tmp_path / "ef_reverse-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ef-reverse\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[elementafeeds.transforms]\nreverse = ef_reverse:factory\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry._plugin_factories.cache_clear()
    yield
    registry._plugin_factories.cache_clear()
    sys.modules.pop("ef_reverse", None)


def test_plugin_transform_through_an_entry_point(plugin):
    assert "reverse" in known_transforms()
    assert run("reverse", "abc") == "cba"
    assert run({"reverse": "upper"}, "abc") == "CBA"
    with pytest.raises(TransformSpecError, match="reverse takes nothing"):
        compile_transform({"reverse": "other"})


def test_built_in_names_do_not_load_plugins(monkeypatch):
    registry._plugin_factories.cache_clear()
    compile_transform("trim")
    assert registry._plugin_factories.cache_info().currsize == 0
