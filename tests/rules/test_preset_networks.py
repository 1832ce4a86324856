"""Each built-in network block turns a record shaped like that network's sample feed
(../shared/feeds) into a complete payload."""

from __future__ import annotations

import pytest
from rules_support import connection_yaml

from elementafeeds.rules import process_record

ADTRACTION = {  # adtraction-se-single.xml, one <product>
    "SKU": "48343", "Name": "DC Grande Premium Zip Hood",
    "Description": "Härlig Zip Hood från DC. Magficka, och metall logga på bröstet.\n\n80% Bomull",
    "Category": "Tröjor  -  Zip Hoods", "Price": "699", "Shipping": "49", "Currency": "SEK",
    "Instock": "yes", "ProductUrl": "http://www.boardstore.se/item/48343-DC-Grande-Premium-Zip-Hood",
    "ImageUrl": "http://www.boardstore.se/assets/img/items/08811f82.jpg",
    "TrackingUrl": "http://track.adtraction.com/t/t?a=29137242&as=24156984&t=2&tk=1",
    "Brand": "DC",
}
TRADEDOUBLER = {  # tradedoubler-se-single.xml: text wrapped in newlines and indentation
    "name": "Call of Duty: Modern Warfare 3 /X360",
    "productUrl": "\n            http://pdt.tradedoubler.com/click?a(2122225)p(77609)\n        ",
    "imageUrl": "\n            http://www.spelbutiken.se/catalog/product_thumb.php?w=150&img=x.jpg\n",
    "description": "Call of Duty: Modern Warfare 3 - Utvecklat av Infinity Ward",
    "price": "348.00", "currency": "SEK", "TDProductId": "1016720533",
    "merchantCategoryName": "Xbox 360", "shortDescription": "Call of Duty", "previousPrice": "",
    "ean": "5030917096853", "brand": "", "manufacturer": "",
}
GOOGLE = {  # google-merchant-example-rss.xml, first <item>
    "g:id": "TV_123456", "g:title": "LG 22LB4510 - 22\" LED TV - 1080p (FullHD)",
    "g:description": "Attractively styled and boasting stunning picture quality",
    "g:link": "http://www.example.com/electronics/tv/22LB4510.html",
    "g:image_link": "http://images.example.com/TV_123456.png", "g:condition": "used",
    "g:availability": "in stock", "g:price": "159.00 USD", "g:brand": "LG",
    "g:gtin": "71919219405200", "g:product_type": "Electronics > Video > Televisions",
    "g:shipping": {"g:country": "US", "g:service": "Standard", "g:price": "14.95 USD"},
    "g:additional_image_link": ["http://images.example.com/TV_2.png",
                                "http://images.example.com/TV_3.png"],
}
AWIN = {
    "merchant_product_id": "HT-1", "product_name": "Kylpypyyhe", "search_price": "12,99",
    "rrp_price": "0,00", "aw_deep_link": "https://www.awin1.com/pclick.php?p=1&a=2&m=3",
    "merchant_image_url": "https://img.example/1.jpg", "description": "<p>Pehmeä</p>",
    "merchant_category": "Koti > Tekstiilit", "brand_name": "Hemtex", "colour": "Sininen",
    "Fashion:size": "S,M",
}

CASES = {
    "adtraction": (ADTRACTION, "{SKU}", "DC Grande Premium Zip Hood", "699.00",
                   ADTRACTION["TrackingUrl"], "Tröjor - Zip Hoods"),
    "tradedoubler": (TRADEDOUBLER, "{TDProductId}", TRADEDOUBLER["name"], "348.00",
                     "http://pdt.tradedoubler.com/click?a(2122225)p(77609)", "Xbox 360"),
    "google_merchant": (GOOGLE, "{g:id}", GOOGLE["g:title"], "159.00", GOOGLE["g:link"],
                        "Electronics > Video > Televisions"),
    "awin": (AWIN, "{merchant_product_id}", "Kylpypyyhe", "12.99", AWIN["aw_deep_link"],
             "Koti > Tekstiilit"),
}


@pytest.mark.parametrize("network", sorted(CASES))
def test_fashion_preset_maps_each_network(ruleset, network):
    record, sku, name, price, url, category = CASES[network]
    rules = ruleset(connection_yaml("categories: {unmapped: skip}", product_type="fashion",
                                    feed="net-feed", sku=sku),
                    extra={"connections/feed.yaml": f"""
        kind: feed
        name: net-feed
        network: {network}
        url: feed.xml
    """})
    skipped = process_record(rules, record, 1)
    assert skipped.verdict == "skipped" and skipped.reason == f"unmapped category: {category}"
    rules = ruleset(connection_yaml("", product_type="fashion", feed="net-feed", sku=sku),
                    extra={"connections/feed.yaml": f"""
        kind: feed
        name: net-feed
        network: {network}
        url: feed.xml
    """})
    outcome = process_record(rules, record, 1)
    assert outcome.verdict == "send", outcome.reason
    payload = outcome.payload
    assert (payload["name"], payload["regular_price"], payload["external_url"]) == (
        name, price, url)
    assert payload["type"] == "external" and payload["button_text"] == "Osta nyt"
    assert payload["images"] and all(i["src"].startswith("http") for i in payload["images"])


def test_google_merchant_gathers_additional_images_and_gtin(ruleset):
    rules = ruleset(connection_yaml("", product_type="deal", feed="g", sku="{g:id}"),
                    extra={"connections/feed.yaml": """
        kind: feed
        name: g
        network: Google Merchant
        url: feed.xml
    """})
    payload = process_record(rules, GOOGLE, 1).payload
    assert [i["src"] for i in payload["images"]] == [
        GOOGLE["g:image_link"], *GOOGLE["g:additional_image_link"]]
    meta = {m["key"]: m["value"] for m in payload["meta_data"]}
    assert meta == {"brand": "LG", "ean": "71919219405200", "mpn": None}
