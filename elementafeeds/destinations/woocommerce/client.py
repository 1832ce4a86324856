"""A WooCommerce store's REST session (`/wp-json/wc/v3`): auth as the site's `auth` says.

Basic over https, OAuth 1.0a signatures over plain http (WooCommerce ignores keys sent any
other way there); everything else is the shared `RestClient`.
"""

from __future__ import annotations

import httpx

from elementafeeds.destinations.auth import auth_mode, build_auth
from elementafeeds.destinations.rest_client import RestClient

API_PREFIX = "/wp-json/wc/v3/"


class WooClient(RestClient):
    """The HTTP half of a WooCommerce destination."""

    API_PREFIX = API_PREFIX
    PLATFORM = "WooCommerce"

    @property
    def mode(self) -> str:  # type: ignore[override]
        return auth_mode(self.site)

    def auth(self, creds: dict[str, str]) -> httpx.Auth:
        return build_auth(self.site, creds)

    async def probe(self) -> None:
        await self.send("GET", "products", params={"per_page": 1, "_fields": "id"},
                        gated=False)
