"""Pydantic models of the workspace's YAML documents: site, feed, network, connection.

These models are the public configuration language (documented in docs/configuration.md) and
the source of `ef schema`. Every model forbids unknown keys and is frozen after loading. Field
descriptions become hover help in editors through the JSON Schema, so they are written for
operators.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from elementafeeds.config.codes import COUNTRIES, LANGUAGES

SANDBOX_URL = "sandbox://local"
ENV_REF = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")

Name = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        max_length=100,
        description="Unique name of the document within its kind: letters, digits, - _ .",
    ),
]


class Strict(BaseModel):
    """Base of every configuration model: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _check_language(value: str | None) -> str | None:
    if value is not None and value.lower() not in LANGUAGES:
        raise ValueError(f"'{value}' is not an ISO 639-1 language code (e.g. fi, sv, en, de)")
    return value.lower() if value else value


def _check_country(value: str | None) -> str | None:
    if value is not None and value.upper() not in COUNTRIES:
        allowed = ", ".join(sorted(COUNTRIES))
        raise ValueError(f"'{value}' is not a supported country; use one of {allowed}")
    return value.upper() if value else value


# ---------------------------------------------------------------------------------------------
# site


class SiteLimits(Strict):
    """How hard ElementaFeeds may push this site. Shared by every connection that writes to it."""

    batch_size: int = Field(50, ge=1, le=100, description="Products per batch request (1–100).")
    concurrency: int = Field(
        2, ge=1, le=64, description="Most requests in flight at once (adaptive below this)."
    )
    min_concurrency: int = Field(
        1, ge=1, le=64,
        description="Fewest requests in flight the adaptive window backs off to; equal to "
        "`concurrency` pins it (no adaptation).",
    )
    timeout_s: float = Field(60, gt=0, le=600, description="Timeout of one request, seconds.")

    @model_validator(mode="after")
    def _floor_below_limit(self) -> SiteLimits:
        if self.min_concurrency > self.concurrency:
            raise ValueError(f"min_concurrency ({self.min_concurrency}) is above concurrency "
                             f"({self.concurrency})")
        return self


class Site(Strict):
    """A destination: a WooCommerce store or a WordPress site."""

    kind: Literal["site"] = Field(description="Document kind.")
    name: Name
    platform: Literal["woocommerce", "wordpress"] = Field(
        "woocommerce", description="woocommerce (a store) or wordpress (posts, custom post types)."
    )
    url: str = Field(
        description="The site's home URL, e.g. https://shop.example (no /wp-json); "
        "`sandbox://local` is the embedded local sandbox (started by ef itself, fake credentials)."
    )
    language: str | None = Field(None, description="ISO 639-1 language of the site, e.g. fi.")
    country: str | None = Field(None, description="Country: an EU member, GB, NO or CH.")
    credentials: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "Only ${ENV_VAR} references. WooCommerce: consumer_key, consumer_secret; "
            "WordPress: username, application_password."
        ),
    )
    limits: SiteLimits = Field(default_factory=SiteLimits, description="Request limits.")
    auth: Literal["auto", "basic", "query", "oauth1"] = Field(
        "auto",
        description=(
            "auto: HTTP Basic over https, OAuth 1.0a over plain http (WooCommerce ignores keys "
            "sent any other way over http)."
        ),
    )

    _language = field_validator("language")(classmethod(lambda cls, v: _check_language(v)))
    _country = field_validator("country")(classmethod(lambda cls, v: _check_country(v)))

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if value == SANDBOX_URL:
            return value
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError(
                f"the site url must start with http:// or https:// (or be {SANDBOX_URL})"
            )
        return value.rstrip("/")

    @property
    def is_embedded_sandbox(self) -> bool:
        return self.url == SANDBOX_URL

    @field_validator("credentials")
    @classmethod
    def _only_env_refs(cls, value: dict[str, str]) -> dict[str, str]:
        for key, ref in value.items():
            if not isinstance(ref, str) or not ENV_REF.match(ref.strip()):
                # The message never repeats the value: it may be a real secret.
                raise ValueError(
                    f"[{key}] must be an environment reference like ${{MY_SITE_KEY}}; "
                    "a literal secret must never be written in YAML"
                )
        return {k: v.strip() for k, v in value.items()}

    @model_validator(mode="after")
    def _required_credentials(self) -> Site:
        needed = (
            ("consumer_key", "consumer_secret")
            if self.platform == "woocommerce"
            else ("username", "application_password")
        )
        missing = [k for k in needed if k not in self.credentials]
        if self.url == SANDBOX_URL:
            missing = []  # the embedded sandbox has fixed, public, fake credentials
        unknown = [k for k in self.credentials if k not in needed]
        if missing:
            raise ValueError(
                f"credentials needs {', '.join(missing)} for a {self.platform} site"
            )
        if unknown:
            raise ValueError(
                f"credentials has unknown key {', '.join(unknown)}; "
                f"a {self.platform} site takes {', '.join(needed)}"
            )
        return self


# ---------------------------------------------------------------------------------------------
# feed and network


class CsvOptions(Strict):
    """How to read a CSV/TSV feed. `auto` values are detected from a sample."""

    delimiter: str = Field("auto", description="auto, or one character such as , ; | or \\t.")
    quotechar: str = Field('"', min_length=1, max_length=1, description="Quote character.")
    encoding: str = Field("auto", description="auto (BOM, then detection) or a codec name.")
    header: bool = Field(True, description="The first line (after skip_lines) holds the columns.")
    skip_lines: int = Field(0, ge=0, description="Lines to skip before the header.")
    skip_footer_lines: int = Field(0, ge=0, description="Lines to drop at the end of the file.")
    max_field_bytes: int = Field(
        1_048_576, ge=1024, description="Longest allowed field; a longer one is an error."
    )

    @field_validator("delimiter")
    @classmethod
    def _delimiter(cls, value: str) -> str:
        if value == "\\t":
            return "\t"
        if value != "auto" and len(value) != 1:
            raise ValueError("delimiter must be 'auto' or a single character")
        return value


class XmlOptions(Strict):
    """How to read an XML feed."""

    record: str | None = Field(
        None,
        description="Element name of one record (a namespace prefix is allowed, e.g. item or "
        "g:item). Detected when left out: the most repeated element under the root.",
    )


class JsonOptions(Strict):
    """How to read a JSON or JSON-lines feed."""

    records: str | None = Field(
        None,
        description="ijson prefix of one record, e.g. products.item. Detected when left out: "
        "a top-level array, or the first array of objects.",
    )


class FeedLimits(Strict):
    max_bytes: int = Field(
        2 * 1024**3, ge=1, description="Largest feed accepted, after decompression, in bytes."
    )
    timeout_s: float = Field(900, gt=0, description="Overall deadline for fetching the feed.")


class Feed(Strict):
    """A source of product records: a URL or a path relative to the workspace."""

    kind: Literal["feed"] = Field(description="Document kind.")
    name: Name
    network: str | None = Field(
        None, description="Affiliate network (a `kind: network` name or a free label, e.g. awin)."
    )
    url: str = Field(description="http(s) URL or a path relative to the workspace.")
    format: Literal["auto", "csv", "xml", "json"] = Field(
        "auto", description="auto detects from content."
    )
    csv: CsvOptions = Field(default_factory=CsvOptions, description="CSV/TSV options.")
    xml: XmlOptions = Field(default_factory=XmlOptions, description="XML options.")
    json_: JsonOptions = Field(
        default_factory=JsonOptions, alias="json", description="JSON options."
    )
    language: str | None = Field(None, description="ISO 639-1 language of the feed's texts.")
    limits: FeedLimits = Field(default_factory=FeedLimits, description="Size and time limits.")
    headers: dict[str, str] = Field(
        default_factory=dict,
        description="Extra HTTP request headers; values may use ${ENV_VAR} references.",
    )

    _language = field_validator("language")(classmethod(lambda cls, v: _check_language(v)))


class Network(Strict):
    """An affiliate network: a label for grouping, and its column names for presets."""

    kind: Literal["network"] = Field(description="Document kind.")
    name: Name
    description: str | None = Field(None, description="Free text.")
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="Destination field → this network's column name, used by presets.",
    )


# ---------------------------------------------------------------------------------------------
# connection: filters

FilterOp = Literal[
    "eq", "ne", "contains", "not_contains", "starts_with", "ends_with", "regex",
    "gt", "gte", "lt", "lte", "between", "in", "not_in", "empty", "not_empty",
]

Scalar = Union[str, int, float, bool]


class FilterRule(Strict):
    """One comparison of a record's field with a value."""

    field: str = Field(description="Source field (or path such as price.amount).")
    op: FilterOp = Field(description="Comparison operator.")
    value: Scalar | list[Scalar] | None = Field(
        None, description="Value to compare with; a list for in, not_in and between [low, high]."
    )
    case: Literal["insensitive", "sensitive"] = Field(
        "insensitive", description="Text comparisons ignore case unless sensitive."
    )

    @model_validator(mode="after")
    def _value_fits_op(self) -> FilterRule:
        op, value = self.op, self.value
        if op in ("empty", "not_empty"):
            return self
        if value is None:
            raise ValueError(f"operator {op} needs a value")
        if op == "between":
            if not isinstance(value, list) or len(value) != 2:
                raise ValueError("between needs a list of two values: [low, high]")
        elif op in ("in", "not_in"):
            if not isinstance(value, list):
                raise ValueError(f"{op} needs a list of values")
        elif isinstance(value, list):
            raise ValueError(f"{op} takes one value, not a list")
        if op == "regex":
            try:
                re.compile(str(value))
            except re.error as exc:
                raise ValueError(f"invalid regular expression {value!r}: {exc}") from None
        if op in ("gt", "gte", "lt", "lte", "between"):
            for v in value if isinstance(value, list) else [value]:
                if isinstance(v, bool) or not _is_number(v):
                    raise ValueError(f"{op} compares numbers; {v!r} is not a number")
        return self


def _is_number(value: Any) -> bool:
    if isinstance(value, (int, float)):
        return True
    try:
        float(str(value).replace(",", ".").strip())
        return True
    except ValueError:
        return False


class AnyGroup(Strict):
    any: list[FilterNode] = Field(description="Passes when any of these passes.")


class AllGroup(Strict):
    all: list[FilterNode] = Field(description="Passes when all of these pass.")


def _filter_kind(value: Any) -> str:
    if isinstance(value, dict):
        if "any" in value:
            return "any"
        if "all" in value:
            return "all"
    elif isinstance(value, (AnyGroup, AllGroup)):
        return "any" if isinstance(value, AnyGroup) else "all"
    return "rule"


FilterNode = Annotated[
    Union[
        Annotated[FilterRule, Tag("rule")],
        Annotated[AnyGroup, Tag("any")],
        Annotated[AllGroup, Tag("all")],
    ],
    Discriminator(_filter_kind),
]


class Filters(Strict):
    """Which records pass. With no rules every record passes."""

    match: Literal["any", "all"] = Field("any", description="How the top-level rules combine.")
    rules: list[FilterNode] = Field(default_factory=list, description="Rules and groups.")


AnyGroup.model_rebuild()
AllGroup.model_rebuild()


# ---------------------------------------------------------------------------------------------
# connection: field mappings

TransformSpec = Union[str, dict[str, Any]]
"""A transform: its name (`trim`) or a one-key mapping with its argument (`{truncate: 120}`)."""


class FieldSource(Strict):
    """A mapping of one destination field from the feed."""

    from_: str | list[str] | None = Field(
        None, alias="from", description="Source field or path (price.amount, variants[*].size)."
    )
    template: str | None = Field(None, description="A template such as '{brand} {name}'.")
    value: Scalar | list[Scalar] | dict[str, Any] | None = Field(
        None, description="A constant value."
    )
    transform: list[TransformSpec] = Field(
        default_factory=list, description="Transforms applied in order."
    )
    default: Scalar | None = Field(None, description="Used when the result is empty.")

    @model_validator(mode="after")
    def _one_source(self) -> FieldSource:
        given = [k for k in ("from_", "template", "value") if getattr(self, k) is not None]
        if len(given) > 1:
            raise ValueError("a field mapping takes one of from, template or value")
        if not given and self.default is None:
            raise ValueError("a field mapping needs from, template, value or default")
        return self


def _mapping_kind(value: Any) -> str:
    if isinstance(value, str):
        return "template"
    if isinstance(value, (dict, FieldSource)):
        return "source"
    if isinstance(value, list):
        return "list"
    return "constant"


ListItem = Annotated[
    Union[Annotated[str, Tag("template")], Annotated[FieldSource, Tag("source")]],
    Discriminator(_mapping_kind),
]

FieldMapping = Annotated[
    Union[
        Annotated[str, Tag("template")],
        Annotated[Union[bool, int, float], Tag("constant")],
        Annotated[FieldSource, Tag("source")],
        Annotated[list[ListItem], Tag("list")],
    ],
    Discriminator(_mapping_kind),
]
"""A template string, a constant, `{from|template|value, transform, default}`, or a list."""


# ---------------------------------------------------------------------------------------------
# connection: categories, attributes, update, stale


class Categories(Strict):
    """How a record's source category path becomes destination categories."""

    source: str | None = Field(None, description="Source field holding the category path.")
    delimiter: str = Field(" > ", description="Separator of the path's levels.")
    map: dict[str, list[Union[str, int]]] = Field(
        default_factory=dict,
        description="Source path → destination category names or ids. The most specific "
        "configured path wins ('A > B' covers 'A > B > C' unless that has its own entry).",
    )
    unmapped: Literal["skip", "default"] = Field(
        "default", description="skip: an unmapped record is skipped; default: use `default`."
    )
    default: list[Union[str, int]] = Field(
        default_factory=list, description="Categories for unmapped records."
    )

    @field_validator("map", mode="before")
    @classmethod
    def _single_target(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: (v if isinstance(v, list) else [v]) for k, v in value.items()}
        return value


class Attribute(Strict):
    """A product attribute (WooCommerce) from a source field or a template."""

    name: str = Field(description="Attribute name; a global attribute of that name is used.")
    from_: str | None = Field(None, alias="from", description="Source field.")
    template: str | None = Field(None, description="Template instead of a field.")
    split: str | None = Field(None, description="Separator of several values in one field.")
    visible: bool = Field(True, description="Shown on the product page.")

    @model_validator(mode="after")
    def _source(self) -> Attribute:
        if (self.from_ is None) == (self.template is None):
            raise ValueError("an attribute takes exactly one of from or template")
        return self


class Update(Strict):
    fields: Literal["all"] | list[str] = Field(
        "all", description="all, or the destination fields overwritten on existing products."
    )


class Stale(Strict):
    """What happens to products the feed no longer has (`ef reconcile`)."""

    action: Literal["none", "hide", "set_stock_zero", "draft", "delete"] = Field(
        "none", description="none | hide | set_stock_zero | draft | delete."
    )
    after_days: int = Field(
        30, ge=0, description="Days unseen by completed runs; 0: not seen by the latest one."
    )
    max_share: float = Field(
        0.2, gt=0, le=1, description="Refuse to act on more than this share of the products."
    )


class Content(Strict):
    """HTML from feeds is sanitised before it reaches a site."""

    sanitize_html: bool = Field(True, description="Run descriptions through an allow-list.")
    allowed_tags: list[str] | None = Field(
        None, description="Override the allowed HTML tags (default: a safe formatting set)."
    )


class Connection(Strict):
    """One feed into one site: filters, mappings, update and stale settings, schedule."""

    kind: Literal["connection"] = Field(description="Document kind.")
    name: Name
    feed: str = Field(description="Name of a `kind: feed` document.")
    site: str = Field(description="Name of a `kind: site` document.")
    product_type: str = Field(
        "deal", description="A preset: deal | fashion | furniture | listing | hotel | …"
    )
    post_type: str | None = Field(
        None, description="WordPress sites: REST base of the post type (posts, hotels, …)."
    )
    enabled: bool = Field(True, description="Disabled connections are not run by --all/--due.")
    schedule: str | None = Field(None, description="Cron expression, for `ef run --due`.")
    filters: Filters = Field(default_factory=Filters, description="Which records pass.")
    sku: str = Field(description="Template of the unique product key, e.g. shop-{product_id}.")
    fields: dict[str, FieldMapping] = Field(
        default_factory=dict, description="Destination field → mapping; overrides the preset."
    )
    categories: Categories = Field(default_factory=Categories, description="Category mapping.")
    attributes: list[Attribute] = Field(default_factory=list, description="Attributes.")
    update: Update = Field(default_factory=Update, description="What updates overwrite.")
    stale: Stale = Field(default_factory=Stale, description="Products gone from the feed.")
    content: Content = Field(default_factory=Content, description="HTML sanitising.")

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from croniter import croniter

        if not croniter.is_valid(value):
            raise ValueError(
                f"'{value}' is not a valid cron expression (five fields: minute hour day "
                "month weekday, e.g. '0 3 * * *')"
            )
        return value


Document = Union[Site, Feed, Network, Connection]
