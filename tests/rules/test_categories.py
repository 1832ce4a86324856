"""Category matching: delimiter splitting, most specific prefix wins, names and ids,
unmapped skip or default — with property-based tests of the matcher."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from elementafeeds.config.models import Categories
from elementafeeds.rules.categories import CategoryMatcher, split_path

MAP = {
    "Koti > Tekstiilit": ["Kodintekstiilit"],
    "Koti > Tekstiilit > Pyyhkeet": ["Pyyhkeet", 17],
    "Vaatteet": [42],
}


def matcher(**overrides) -> CategoryMatcher:
    config = {"source": "cat", "map": MAP, **overrides}
    return CategoryMatcher(Categories.model_validate(config))


def test_most_specific_configured_prefix_wins():
    m = matcher()
    assert m.match({"cat": "Koti > Tekstiilit > Pyyhkeet > Kylpy"})[0] == [
        {"name": "Pyyhkeet"}, {"id": 17}]
    assert m.match({"cat": "Koti > Tekstiilit > Lakanat"})[0] == [{"name": "Kodintekstiilit"}]
    assert m.match({"cat": "Koti > Tekstiilit"})[0] == [{"name": "Kodintekstiilit"}]
    assert m.match({"cat": "Vaatteet > Naiset"})[0] == [{"id": 42}]


def test_matching_ignores_case_and_whitespace_runs():
    assert matcher().match({"cat": "koti  >   TEKSTIILIT"})[0] == [{"name": "Kodintekstiilit"}]


def test_unmapped_default_uses_the_default_categories():
    m = matcher(unmapped="default", default=["Muut", 5])
    assert m.match({"cat": "Lelut"}) == ([{"name": "Muut"}, {"id": 5}], None)
    assert m.match({}) == ([{"name": "Muut"}, {"id": 5}], None)


def test_unmapped_skip_reports_the_path():
    m = matcher(unmapped="skip")
    assert m.match({"cat": "Lelut >  Palapelit"}) == (None, "Lelut > Palapelit")
    assert m.match({"cat": ""}) == (None, "(no category)")
    assert m.match({"cat": "Koti"}) == (None, "Koti")  # a parent of a mapped path is unmapped


def test_list_valued_source_unites_the_mapped_paths():
    m = matcher(unmapped="skip")
    assert m.match({"cat": ["Lelut", "Vaatteet", "Koti > Tekstiilit"]})[0] == [
        {"id": 42}, {"name": "Kodintekstiilit"}]
    assert m.match({"cat": ["Lelut", "Pelit"]}) == (None, "Lelut | Pelit")


def test_other_delimiters():
    assert split_path("Tröjor  -  Zip Hoods", " - ") == ("Tröjor", "Zip Hoods")
    assert split_path("T-shirts", " - ") == ("T-shirts",)
    assert split_path("A>B", " > ") == ("A", "B")
    assert split_path("Gear\nBags", "\n") == ("Gear", "Bags")
    m = matcher(delimiter="/", map={"Home/Bath": ["Bath"]})
    assert m.match({"cat": "Home / Bath / Towels"})[0] == [{"name": "Bath"}]


def test_results_are_cached_but_not_shared_with_mutation_risk():
    m = matcher()
    first = m.match({"cat": "Vaatteet"})[0]
    assert m.match({"cat": "Vaatteet"})[0] is first  # cached: the engine copies before use


LEVEL = st.text(alphabet=st.characters(whitelist_categories=("Lu", "Ll", "Nd")), min_size=1,
                max_size=8)
PATH = st.lists(LEVEL, min_size=1, max_size=5).map(tuple)


@given(configured=st.dictionaries(PATH, st.integers(1, 999), max_size=8), record=PATH)
def test_property_the_longest_configured_prefix_decides(configured, record):
    config = {" > ".join(path): [target] for path, target in configured.items()}
    m = CategoryMatcher(Categories.model_validate(
        {"source": "cat", "map": config, "unmapped": "skip"}))
    targets, unmapped = m.match({"cat": " > ".join(record)})
    lowered = {tuple(level.casefold() for level in p): t for p, t in configured.items()}
    key = tuple(level.casefold() for level in record)
    prefixes = [key[:n] for n in range(len(key), 0, -1) if key[:n] in lowered]
    if prefixes:
        assert targets == [{"id": lowered[prefixes[0]]}] and unmapped is None
    else:
        assert targets is None and unmapped == " > ".join(record)


@given(path=PATH, extra=st.lists(LEVEL, max_size=3))
def test_property_a_configured_path_covers_every_deeper_path(path, extra):
    m = CategoryMatcher(Categories.model_validate(
        {"source": "cat", "map": {" > ".join(path): ["X"]}, "unmapped": "skip"}))
    assert m.match({"cat": " > ".join(path + tuple(extra))})[0] == [{"name": "X"}]


@given(levels=st.lists(LEVEL, min_size=1, max_size=5),
       spaces=st.lists(st.sampled_from([" ", "  ", "\t", ""]), min_size=10, max_size=10))
def test_property_split_is_whitespace_insensitive_around_the_delimiter(levels, spaces):
    text = "".join(f"{spaces[i % 10]}{level}{spaces[(i + 1) % 10]}>"
                   for i, level in enumerate(levels)).rstrip(">")
    assert split_path(text, " > ") == tuple(levels)
