"""Query-parameter validation and paging headers, with WordPress's messages and rules.

WordPress validates route arguments before it checks permissions, so an anonymous request with
`per_page=101` gets 400 `rest_invalid_param`, not 401; callers collect every problem in an
`errors` dict and raise once, as `WP_REST_Request::has_valid_params` does.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from elementafeeds.sandbox.rest import ApiRequest, invalid_params, wp_list

_INT_RE = re.compile(r"^-?\d+$")


def to_int(value: Any) -> int | None:
    """`rest_is_integer`: an int, an integral float, or a numeric string; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INT_RE.match(value.strip()):
        return int(value.strip())
    return None


def to_bool(value: Any) -> bool | None:
    """`rest_is_boolean` + `rest_sanitize_boolean`; None when the value is not boolean-like."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", ""):
        return value.lower() in ("true", "1")
    return None


def id_list(value: Any) -> list[int]:
    """`wp_parse_id_list`: a list or a comma/space separated string of ids."""
    if value is None or value == "":
        return []
    items = value if isinstance(value, list) else re.split(r"[\s,]+", str(value))
    ids = []
    for item in items:
        number = to_int(item)
        if number is not None and abs(number) not in ids:
            ids.append(abs(number))
    return ids


def str_list(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    items = value if isinstance(value, list) else str(value).split(",")
    return [str(item).strip() for item in items if str(item).strip() != ""]


def check_enum(params: dict[str, Any], name: str, allowed: tuple[str, ...],
               errors: dict[str, str]) -> None:
    value = params.get(name)
    if value is not None and value not in allowed:
        errors[name] = f"{name} is not one of {wp_list(allowed)}."


@dataclass(frozen=True)
class Page:
    page: int
    per_page: int
    offset: int | None
    order: str
    orderby: str

    @property
    def skip(self) -> int:
        return self.offset if self.offset is not None else (self.page - 1) * self.per_page


def read_paging(params: dict[str, Any], errors: dict[str, str], *, orderby: tuple[str, ...],
                default_orderby: str, default_order: str) -> Page:
    """page, per_page (1–100), offset, order, orderby — problems go into `errors`."""
    page = _int_param(params, "page", 1, errors, minimum=1)
    per_page = _int_param(params, "per_page", 10, errors, minimum=1, maximum=100)
    offset = _int_param(params, "offset", None, errors)
    check_enum(params, "order", ("asc", "desc"), errors)
    check_enum(params, "orderby", orderby, errors)
    return Page(page or 1, per_page or 10, offset, params.get("order") or default_order,
                params.get("orderby") or default_orderby)


def _int_param(params: dict[str, Any], name: str, default: int | None, errors: dict[str, str],
               minimum: int | None = None, maximum: int | None = None) -> int | None:
    if name not in params or params[name] == "":
        return default
    number = to_int(params[name])
    if number is None:
        errors[name] = f"{name} is not of type integer."
        return default
    if minimum is not None and maximum is not None and not minimum <= number <= maximum:
        errors[name] = f"{name} must be between {minimum} (inclusive) and {maximum} (inclusive)"
    elif minimum is not None and number < minimum:
        errors[name] = f"{name} must be greater than or equal to {minimum}"
    return number


def raise_if(errors: dict[str, str]) -> None:
    if errors:
        raise invalid_params(errors)


def paging_headers(req: ApiRequest, total: int, page: Page) -> dict[str, str]:
    """X-WP-Total, X-WP-TotalPages and a Link with only prev/next, other arguments kept."""
    max_pages = math.ceil(total / page.per_page) if total else 0
    headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(max_pages)}
    links = []
    if page.page > 1:
        links.append(f'<{_page_url(req, min(page.page - 1, max(max_pages, 1)))}>; rel="prev"')
    if max_pages > page.page:
        links.append(f'<{_page_url(req, page.page + 1)}>; rel="next"')
    if links:
        headers["Link"] = ", ".join(links)
    return headers


def _page_url(req: ApiRequest, number: int) -> str:
    query = dict(req.query)
    query["page"] = str(number)
    pairs: list[tuple[str, str]] = []
    for key, value in query.items():
        if isinstance(value, list):
            pairs.extend((f"{key}[]", str(v)) for v in value)
        else:
            pairs.append((key, str(value)))
    return f"{req.site_url}/wp-json{req.route}?{urlencode(pairs)}"
