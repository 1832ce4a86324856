"""A WordPress site's REST session: an application password over HTTP Basic.

Everything else is the shared `RestClient`; 401/403 and missing routes get WordPress hints,
and paging past the end (a 400 on posts) ends a listing.
"""

from __future__ import annotations

import httpx

from elementafeeds.destinations.rest_client import RestClient
from elementafeeds.errors import RetriableSiteError, SiteError

API_PREFIX = "/wp-json/"


def wp_auth_hint(status: int | None, code: str | None) -> str:
    if status == 403 or (code or "").startswith("rest_cannot") or code == "rest_forbidden":
        return ("the user lacks the capability: use an application password of an Editor or "
                "Administrator (a Subscriber or Contributor cannot publish or edit posts)")
    return ("check the site's username and application_password (Users → Profile → "
            "Application Passwords); over plain http WordPress may refuse application "
            "passwords unless the site allows it")


class WPClient(RestClient):
    """The HTTP half of a WordPress destination."""

    API_PREFIX = API_PREFIX
    PLATFORM = "WordPress"
    END_OF_PAGES = frozenset({"rest_post_invalid_page_number"})

    def auth(self, creds: dict[str, str]) -> httpx.Auth:
        user, password = creds.get("username"), creds.get("application_password")
        if not user or not password:
            missing = [n for n, v in (("username", user), ("application_password", password))
                       if not v]
            raise SiteError(
                f"site {self.site.name}: no {' or '.join(missing)} in its credentials",
                hint="give the site username and application_password as ${ENV_VAR} "
                "references (WordPress → Users → Profile → Application Passwords)",
            )
        return httpx.BasicAuth(user, password)

    def describe(self, method: str, path: str) -> str:
        return f"{method} /wp-json/{path.split('?', 1)[0]}"

    def explain(self, exc: SiteError) -> None:
        if exc.status in (401, 403) and not isinstance(exc, RetriableSiteError):
            exc.hint = wp_auth_hint(exc.status, exc.code)
        elif exc.status == 404 and exc.code in ("rest_no_route", "http_404"):
            exc.hint = ("is the post type shown in REST (show_in_rest) under this REST "
                        "base, are pretty permalinks on, and is the url the site's home "
                        "URL (no /wp-json)?")

    async def probe(self) -> None:
        await self.send("GET", "wp/v2/users/me", params={"_fields": "id"}, gated=False)
