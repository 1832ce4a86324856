"""What a sandbox site is configured with: credentials, post types, registered meta, quirks.

The defaults are fixed, documented and obviously fake, so examples, tests and the bundled demo
work on a fresh machine without any secret. Everything here can be changed at run time through
`PATCH /__admin/config`; the server reads the live object on every request.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

DEFAULT_KEY = "ck_sandbox"
DEFAULT_SECRET = "cs_sandbox"
DEFAULT_WP_USER = "sandbox"
DEFAULT_WP_PASSWORD = "sandbox app password"
DEFAULT_READER = "sandbox_reader"
WC_VERSION = "10.0.2"
WP_VERSION = "6.8.3"

META_TYPES = ("string", "integer", "number", "boolean")

#: Meta keys every post type registers (show_in_rest, single) unless configured otherwise.
DEFAULT_META: dict[str, str] = {
    "_ef_sku": "string",
    "_elementa_feed_connection_id": "string",
    "_elementa_last_seen_timestamp": "integer",
}

KEY_PERMISSIONS = ("read", "write", "read_write")


@dataclass
class WPUser:
    """A WordPress user with one application password (spaces in it are ignored)."""

    username: str
    password: str
    email: str = ""
    read_only: bool = False
    user_id: int = 1
    upload_files: bool = True
    """False: the user may write posts but not upload media (a Contributor's rights)."""


@dataclass(frozen=True)
class PostType:
    """A post type shown in REST: `name` is the type (`hotel`), `rest_base` its route (`hotels`)."""

    name: str
    rest_base: str

    @classmethod
    def parse(cls, text: str) -> PostType:
        """`hotels` → hotel/hotels; `hotel:hotels` names both explicitly."""
        text = text.strip().strip("/")
        if ":" in text:
            name, base = (part.strip() for part in text.split(":", 1))
            return cls(name or base, base)
        name = text[:-1] if len(text) > 1 and text.endswith("s") else text
        return cls(name, text)


POSTS = PostType("post", "posts")


def parse_meta(text: str) -> tuple[str, str]:
    """`hotel_city` or `hotel_stars:integer` → (key, type)."""
    key, _, kind = text.partition(":")
    kind = kind.strip() or "string"
    if kind not in META_TYPES:
        raise ValueError(f"meta type {kind!r} is not one of {', '.join(META_TYPES)}")
    return key.strip(), kind


@dataclass
class SandboxConfig:
    """The live configuration of one sandbox site."""

    consumer_key: str = DEFAULT_KEY
    consumer_secret: str = DEFAULT_SECRET
    key_permissions: str = "read_write"
    wp_users: list[WPUser] = field(
        default_factory=lambda: [
            WPUser(DEFAULT_WP_USER, DEFAULT_WP_PASSWORD, "sandbox@example.invalid", False, 1),
            WPUser(DEFAULT_READER, DEFAULT_WP_PASSWORD, "reader@example.invalid", True, 2),
        ]
    )
    lenient_auth: bool = False
    """Behave as if served over https: consumer key/secret by Basic or query string work."""
    post_types: list[PostType] = field(default_factory=list)
    """Custom post types besides `posts`, which always exists."""
    meta_keys: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_META))
    unreachable_image_hosts: set[str] = field(default_factory=set)
    batch_v1: bool = True
    media_uploads: bool = True
    """False: `/wp/v2/media` is not routed (404 `rest_no_route`), as behind a plugin hiding it."""
    unstable_date_order: bool = True
    """Products listed by date tie-break randomly within a second, as a real store was seen to."""
    home_url: str | None = None
    """The URL OAuth signatures are checked against; default: http://<Host header>."""
    site_name: str = "ElementaFeeds Sandbox"

    def all_post_types(self) -> list[PostType]:
        return [POSTS, *[pt for pt in self.post_types if pt.rest_base != "posts"]]

    def post_type_by_base(self, rest_base: str) -> PostType | None:
        for post_type in self.all_post_types():
            if post_type.rest_base == rest_base:
                return post_type
        return None

    def find_wp_user(self, login: str) -> WPUser | None:
        for user in self.wp_users:
            if login == user.username or (user.email and login.lower() == user.email.lower()):
                return user
        return None

    def image_host_unreachable(self, host: str) -> bool:
        host = host.lower()
        return any(host == h.lower() or host.endswith("." + h.lower())
                   for h in self.unreachable_image_hosts)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["post_types"] = [f"{pt.name}:{pt.rest_base}" for pt in self.post_types]
        data["unreachable_image_hosts"] = sorted(self.unreachable_image_hosts)
        return data

    def update(self, changes: dict[str, Any]) -> None:
        """Apply a partial change (the body of `PATCH /__admin/config`); raises ValueError."""
        for name, value in changes.items():
            if name == "post_types":
                self.post_types = [PostType.parse(v) for v in value]
            elif name == "meta_keys":
                if isinstance(value, list):
                    value = dict(parse_meta(v) for v in value)
                for kind in value.values():
                    if kind not in META_TYPES:
                        raise ValueError(f"meta type {kind!r} is not one of {META_TYPES}")
                self.meta_keys = dict(value)
            elif name == "unreachable_image_hosts":
                self.unreachable_image_hosts = {str(v) for v in value}
            elif name == "wp_users":
                self.wp_users = [WPUser(**u) for u in value]
            elif name == "key_permissions":
                if value not in KEY_PERMISSIONS:
                    raise ValueError(f"key_permissions must be one of {KEY_PERMISSIONS}")
                self.key_permissions = value
            elif name in {"consumer_key", "consumer_secret", "lenient_auth", "batch_v1",
                          "media_uploads", "unstable_date_order", "home_url", "site_name"}:
                setattr(self, name, value)
            else:
                raise ValueError(f"unknown config field {name!r}")
