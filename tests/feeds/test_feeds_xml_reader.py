"""The XML reader: real samples, key conventions, and every attack we know of."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from feed_helpers import LocalServer, make_feed, sample

from elementafeeds.errors import FeedError, HostileFeedError
from elementafeeds.feeds import FeedSpec, detect_spec, iter_records, plan_chunks, read_chunk
from elementafeeds.feeds.api import detect
from elementafeeds.feeds.detect import HtmlPageError


def read_both(path: Path, work: Path, per: int = 2, **options: Any) -> list[dict]:
    spec = detect_spec(path, make_feed(path, **options))
    streamed = list(iter_records(path, spec))
    chunks = list(plan_chunks(path, spec, work, records_per_chunk=per))
    assert [r for t in chunks for r in read_chunk(t).records] == streamed
    assert not any(Path(t.path).exists() for t in chunks)  # chunk files are consumed
    return streamed


def xml_spec(record_path: str, encoding: str = "utf-8") -> FeedSpec:
    return FeedSpec("xml", encoding, None, None, False, 0, 0, 1024 * 1024, record_path, None)


def write(tmp_path: Path, name: str, data: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


@pytest.mark.parametrize(("name", "path", "count"), [
    ("woocommerce-sample-products.xml", "/rss/channel/item", 18),
    ("yml-yandex-market-valid-feed.xml", "/yml_catalog/shop/offers/offer", 8),
    ("google-merchant-example-rss.xml", "/rss/channel/item", 6),
    ("google-base-atom-itemfeed.xml", "/feed/entry", 2),
    ("adtraction-se-single.xml", "/productFeed/product", 1),
    ("zanox-se-single.xml", "/products/product", 1),
    ("adsettings-se-single.xml", "/products/product", 1),
    ("tradedoubler-se-single.xml", "/products/product", 1),
])
def test_record_element_is_detected_on_real_feeds(tmp_path: Path, name: str, path: str,
                                                  count: int) -> None:
    feed_path = sample(name)
    assert detect_spec(feed_path, make_feed(feed_path)).record_path == path
    assert len(read_both(feed_path, tmp_path)) == count


def test_google_merchant_keys_keep_the_prefix_repeats_become_lists(tmp_path: Path) -> None:
    records = read_both(sample("google-merchant-example-rss.xml"), tmp_path)
    first = records[0]
    assert first["g:id"] == "TV_123456" and first["g:price"] == "159.00 USD"
    shipping = next(r["g:shipping"] for r in records if isinstance(r.get("g:shipping"), list))
    assert {"g:country", "g:service", "g:price"} <= set(shipping[0])
    assert any(isinstance(r.get("g:additional_image_link"), list) for r in records)
    assert not any("&amp;" in str(r) for r in records)  # CDATA and entities are text


def test_attributes_are_at_keys_and_text_beside_them(tmp_path: Path) -> None:
    record = read_both(sample("adsettings-se-single.xml"), tmp_path)[0]
    assert record["@id"] == "3001"
    assert record["price"] == {"@currency": "SEK", "#text": "1,299"}
    assert record["images"]["image"][0]["@small"].endswith(".png")
    assert "<b>Material:</b>" in record["description"]  # two CDATA sections, kept as text


def test_default_namespace_and_record_attribute_zanox(tmp_path: Path) -> None:
    record = read_both(sample("zanox-se-single.xml"), tmp_path)[0]
    assert record["@zupid"] == "66e584ec396cb80ef1ce9b275e5f6aa8"
    assert record["name"] == "Bälte" and record["oldPrice"] == "349.00"


def test_yml_offers_with_repeated_params_and_attributes(tmp_path: Path) -> None:
    records = read_both(sample("yml-yandex-market-valid-feed.xml"), tmp_path, per=3)
    types = {r.get("@type") for r in records}
    assert {"vendor.model", "book", "event-ticket"} <= types
    with_params = [r for r in records if isinstance(r.get("param"), list)]
    assert with_params and "@name" in with_params[0]["param"][0]


def test_tradedoubler_broken_xml_is_repaired_with_a_note(tmp_path: Path) -> None:
    path = sample("tradedoubler-se-single.xml")
    found = detect(path, make_feed(path))
    assert found.spec.repair and any("well-formed" in n.message for n in found.notes)
    record = read_both(path, tmp_path)[0]
    assert "&img=" in record["imageUrl"]
    assert "å" in record["description"] or "ö" in record["description"]


def test_configured_record_name_with_prefix_or_missing(tmp_path: Path) -> None:
    path = sample("google-base-atom-itemfeed.xml")
    assert detect_spec(path, make_feed(path, xml={"record": "entry"})).record_path == \
        "/feed/entry"
    with pytest.raises(FeedError, match="no <product> element"):
        detect_spec(path, make_feed(path, xml={"record": "product"}))


def test_html_inside_elements_is_kept_as_an_html_string(tmp_path: Path) -> None:
    path = write(tmp_path, "f.xml", "<products><product><id>1</id><description><p>Soft "
                 "<b>cotton</b></p><ul><li>S</li></ul></description><note>Mixed <i>text"
                 "</i> here</note></product><product><id>2</id></product></products>")
    record = read_both(path, tmp_path)[0]
    assert record["description"] == "<p>Soft <b>cotton</b></p><ul><li>S</li></ul>"
    assert record["note"] == "Mixed <i>text</i> here"


@pytest.mark.parametrize("encoding", ["iso-8859-1", "utf-16"])
def test_declared_encodings_and_bom(tmp_path: Path, encoding: str) -> None:
    text = (f'<?xml version="1.0" encoding="{encoding.upper()}"?>\n<products>' +
            "".join(f"<product><name>Tröja {i}</name></product>" for i in range(3)) +
            "</products>")
    path = write(tmp_path, "f.xml", text.encode(encoding))
    assert [r["name"] for r in read_both(path, tmp_path)] == [f"Tröja {i}" for i in range(3)]


def test_undeclared_latin1_is_guessed_with_a_note(tmp_path: Path) -> None:
    text = "<products>" + "".join(f"<product><name>Tröja för {i}</name></product>"
                                  for i in range(5)) + "</products>"
    path = write(tmp_path, "f.xml", text.encode("latin-1"))
    found = detect(path, make_feed(path))
    assert found.spec.encoding == "cp1252" and found.notes
    assert read_both(path, tmp_path)[0]["name"] == "Tröja för 0"


def test_xhtml_page_is_not_a_feed(tmp_path: Path) -> None:
    path = write(tmp_path, "f.xml", '<?xml version="1.0"?>\n<!-- cdn -->\n<html xmlns='
                 '"http://www.w3.org/1999/xhtml"><head><title>502 Bad Gateway</title></head>'
                 "<body/></html>")
    with pytest.raises(HtmlPageError, match="502 Bad Gateway"):
        detect_spec(path, make_feed(path))


def test_truncated_xml_fails_the_read(tmp_path: Path) -> None:
    items = "".join(f"<item><id>{i}</id><title>{'x' * 200}</title></item>" for i in range(3000))
    whole = f"<rss><channel>{items}</channel></rss>"
    path = write(tmp_path, "cut.xml", whole[: len(whole) - 5000])
    spec = detect_spec(path, make_feed(path))  # the sample itself is fine
    with pytest.raises(FeedError, match="ends early"):
        list(iter_records(path, spec))
    with pytest.raises(FeedError, match="ends early"):
        for task in plan_chunks(path, spec, tmp_path, records_per_chunk=100):
            read_chunk(task)


LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<products><product><name>&lol9;</name></product><product><name>b</name></product></products>
"""


def test_billion_laughs_is_hostile_on_detection_and_on_read(tmp_path: Path) -> None:
    path = write(tmp_path, "lol.xml", LAUGHS)
    with pytest.raises(HostileFeedError):
        detect_spec(path, make_feed(path))
    with pytest.raises(HostileFeedError):
        list(iter_records(path, xml_spec("/products/product")))


def test_quadratic_blowup_is_hostile(tmp_path: Path) -> None:
    big = "A" * 50_000
    refs = "&a;" * 20_000  # 1 GB if expanded
    path = write(tmp_path, "quad.xml", f'<?xml version="1.0"?><!DOCTYPE p [<!ENTITY a "{big}">]>'
                 f"<products><product><name>{refs}</name></product></products>")
    with pytest.raises(HostileFeedError):
        detect_spec(path, make_feed(path))
    with pytest.raises(HostileFeedError):
        list(iter_records(path, xml_spec("/products/product")))


def test_external_entity_to_a_local_file_is_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET-7f3a")
    path = write(tmp_path, "xxe.xml", f'<?xml version="1.0"?><!DOCTYPE p [<!ENTITY x SYSTEM '
                 f'"file://{secret}">]><products><product><name>&x;</name></product>'
                 "<product><name>b</name></product></products>")
    with pytest.raises(HostileFeedError) as info:
        detect_spec(path, make_feed(path))
    assert "TOPSECRET" not in str(info.value)
    seen: list[Any] = []
    with pytest.raises(HostileFeedError) as info:
        seen.extend(iter_records(path, xml_spec("/products/product")))
    assert "TOPSECRET" not in str(seen) + str(info.value)


def test_external_dtd_and_parameter_entities_are_never_fetched(
        http_server: LocalServer, tmp_path: Path) -> None:
    dtd_url = http_server.add("/evil.dtd", b'<!ENTITY name "pwned">')
    path = write(tmp_path, "dtd.xml", f'<?xml version="1.0"?><!DOCTYPE products SYSTEM '
                 f'"{dtd_url}"><products><product><name>a</name></product></products>')
    assert read_both(path, tmp_path) == [{"name": "a"}]  # the DTD is ignored, not loaded
    param = write(tmp_path, "param.xml", f'<?xml version="1.0"?><!DOCTYPE p [<!ENTITY % ext '
                  f'SYSTEM "{dtd_url}"> %ext;]><products><product><name>&name;</name>'
                  "</product></products>")
    with pytest.raises(HostileFeedError):
        detect_spec(param, make_feed(param))
    with pytest.raises(FeedError):
        list(iter_records(param, xml_spec("/products/product")))
    assert http_server.requests == []


def test_text_node_over_ten_megabytes_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "huge.xml", "<products><product><d>" + "x" * (11 * 1024 * 1024) +
                 "</d></product></products>")
    with pytest.raises(HostileFeedError, match="10 MB"):
        list(iter_records(path, xml_spec("/products/product")))


def test_elements_outside_records_do_not_become_records(tmp_path: Path) -> None:
    path = write(tmp_path, "f.xml", "<catalog><meta><generated>x</generated></meta>"
                 "<categories><category id='1'>A</category><category id='2'>B</category>"
                 "</categories><items><item><id>1</id><item><id>nested</id></item></item>"
                 "<item><id>2</id></item></items></catalog>")
    records = read_both(path, tmp_path, per=1)
    assert [r["id"] for r in records] == ["1", "2"]
    assert records[0]["item"] == {"id": "nested"}


def test_records_shaped_alike_or_not_convert_the_same(tmp_path: Path) -> None:
    # Records shaped like the one before take a faster path (see xml_reader.record_of):
    # repeats (in a run or apart), attribute leaves, key order and shape changes must not tell.
    same = ("<item><g:id>{i}</g:id><g:img>a</g:img><g:img>b</g:img><g:price currency='SEK'>"
            "{i}.00</g:price><g:c>x</g:c><g:img>c</g:img><empty/></item>")
    items = [same.format(i=i) for i in range(3)] + [
        "<item><g:id>3</g:id><g:price>9</g:price></item>",
        "<item><g:id>4</g:id><g:price>9</g:price></item>",
        "<item><g:id>5</g:id><g:price><p>x</p></g:price></item>",
        "<item id='6'><g:id> 6 </g:id><g:price unit='kg'> </g:price></item>",
        same.format(i=7)]
    path = write(tmp_path, "f.xml", '<rss xmlns:g="http://base.google.com/ns/1.0"><channel>'
                 + "".join(items) + "</channel></rss>")
    records = read_both(path, tmp_path, per=3)
    full = {"g:id": "0", "g:img": ["a", "b", "c"],
            "g:price": {"@currency": "SEK", "#text": "0.00"}, "g:c": "x", "empty": ""}
    assert records[0] == full and records[1] == {
        **full, "g:id": "1", "g:price": {"@currency": "SEK", "#text": "1.00"}}
    assert [list(r) for r in records] == [list(full)] * 3 + [["g:id", "g:price"]] * 3 + [
        ["@id", "g:id", "g:price"], list(full)]
    assert records[2]["g:img"] == ["a", "b", "c"] and records[7]["g:price"]["#text"] == "7.00"
    assert records[4] == {"g:id": "4", "g:price": "9"}
    assert records[5] == {"g:id": "5", "g:price": "<p>x</p>"}
    assert records[6] == {"@id": "6", "g:id": "6", "g:price": {"@unit": "kg"}}
