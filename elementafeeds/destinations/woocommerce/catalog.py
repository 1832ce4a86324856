"""The site's category tree and global attributes, and resolving neutral names against them.

WooCommerce takes categories by id only: a category sent by name is silently ignored and the
product lands in "Uncategorized" (wc-api.md §4, §11). So names and paths ("A > B") are
resolved here against the site's tree, fetched once per destination, and an unknown or
ambiguous name fails the item with a message that says what to do, rather than landing
products in the wrong place. Attributes by name become global attribute ids when the site has
one of that name (its terms are then shared and filterable), otherwise stay local.
"""

from __future__ import annotations

import asyncio
import html
from typing import Any

from elementafeeds.destinations.woocommerce.client import WooClient
from elementafeeds.errors import SiteError


class ItemProblem(Exception):
    """A product that cannot be sent as it is: becomes a failed WriteResult, never a raise."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def path_key(path: str) -> str:
    """'Home  >garden > Tools' → 'home > garden > tools' (the comparison form of a path)."""
    return " > ".join(part.strip().lower() for part in path.split(">") if part.strip())


class Catalog:
    """Cached categories and attributes of one site."""

    def __init__(self, client: WooClient, *, create_missing: bool = False) -> None:
        """`create_missing`: create categories a product names that the site lacks (whole
        paths, level by level) instead of failing the product."""
        self._client = client
        self.create_missing = create_missing
        self._lock = asyncio.Lock()
        self._create_lock = asyncio.Lock()
        self._categories: list[dict[str, Any]] | None = None
        self._by_path: dict[str, dict[str, Any]] = {}
        self._by_name: dict[str, list[dict[str, Any]]] = {}
        self._attributes: list[dict[str, Any]] | None = None

    async def categories(self, *, refresh: bool = False) -> list[dict[str, Any]]:
        """Every category: id, name, slug, parent, path ("A > B"), count. Paged by id."""
        async with self._lock:
            if self._categories is None or refresh:
                rows: list[dict[str, Any]] = []
                async for page in self._client.pages(
                    "products/categories", {"orderby": "id", "order": "asc"}
                ):
                    rows.extend(page)
                self._index(rows)
            assert self._categories is not None
            return [dict(c) for c in self._categories]

    def _index(self, rows: list[dict[str, Any]]) -> None:
        by_id = {int(r["id"]): r for r in rows if "id" in r}
        out = []
        for row in rows:
            names, seen, node = [], set(), row
            while node is not None and int(node["id"]) not in seen:
                seen.add(int(node["id"]))
                names.append(html.unescape(str(node.get("name", ""))))
                node = by_id.get(int(node.get("parent") or 0))
            out.append({
                "id": int(row["id"]), "name": names[0], "slug": row.get("slug"),
                "parent": int(row.get("parent") or 0), "path": " > ".join(reversed(names)),
                "count": row.get("count"),
            })
        self._categories = out
        self._by_path = {path_key(c["path"]): c for c in out}
        self._by_name = {}
        for cat in out:
            self._by_name.setdefault(cat["name"].strip().lower(), []).append(cat)

    async def create_category(self, name: str, parent: int = 0) -> int:
        """Create a category (or find the one that already exists there): its id."""
        body = {"name": name, "parent": parent}

        async def attempt() -> int:
            try:
                created, _ = await self._client.send(
                    "POST", "products/categories", json=body, kind="write"
                )
            except SiteError as exc:
                existing = getattr(exc, "resource_id", None)
                if exc.code == "term_exists" and existing:
                    return int(existing)
                raise
            return int(created["id"])

        # Safe to retry: a repeated create answers term_exists with the id.
        term_id = await self._client.retry.call(attempt, what="POST products/categories")
        self._remember(term_id, name, parent)
        return term_id

    def _remember(self, term_id: int, name: str, parent: int) -> None:
        """Add a category just created to the cached tree (no refetch per new category)."""
        if self._categories is None or any(c["id"] == term_id for c in self._categories):
            return
        parent_path = next((c["path"] for c in self._categories if c["id"] == parent), None)
        path = f"{parent_path} > {name}" if parent_path else name
        cat = {"id": term_id, "name": name, "slug": None, "parent": parent, "path": path,
               "count": 0}
        self._categories.append(cat)
        self._by_path[path_key(path)] = cat
        self._by_name.setdefault(name.strip().lower(), []).append(cat)

    async def _create_path(self, path: str) -> int:
        async with self._create_lock:  # two products naming one new category create it once
            parent, prefix = 0, []
            for part in (p.strip() for p in path.split(">") if p.strip()):
                prefix.append(part)
                known = self._by_path.get(path_key(" > ".join(prefix)))
                parent = int(known["id"]) if known else await self.create_category(part, parent)
            return parent

    async def attributes(self, *, with_terms: bool = True) -> list[dict[str, Any]]:
        """Global attributes (id, name, slug) and, with_terms, their terms (id, name, slug)."""
        async with self._lock:
            if self._attributes is None:
                rows, _ = await self._client.get("products/attributes")
                self._attributes = [
                    {"id": int(r["id"]), "name": html.unescape(str(r.get("name", ""))),
                     "slug": r.get("slug")}
                    for r in rows if isinstance(r, dict) and "id" in r
                ]
            attrs = [dict(a) for a in self._attributes]
        if with_terms:
            for attr in attrs:
                terms: list[dict[str, Any]] = []
                async for page in self._client.pages(
                    f"products/attributes/{attr['id']}/terms", {"orderby": "id", "order": "asc"}
                ):
                    terms.extend(
                        {"id": t["id"], "name": html.unescape(str(t.get("name", ""))),
                         "slug": t.get("slug")} for t in page
                    )
                attr["terms"] = terms
        return attrs

    # -- resolution ----------------------------------------------------------------------------

    async def resolve_categories(self, entries: list[Any]) -> list[dict[str, int]]:
        """Neutral categories → [{"id": n}], or ItemProblem naming the category."""
        out: list[dict[str, int]] = []
        for entry in entries:
            if isinstance(entry, dict) and entry.get("id") is not None:
                out.append({"id": int(entry["id"])})
                continue
            if isinstance(entry, int):
                out.append({"id": entry})
                continue
            name = entry.get("name") if isinstance(entry, dict) else entry
            if not isinstance(name, str) or not name.strip():
                raise ItemProblem("unknown_category", f"category entry {entry!r} has no name")
            out.append({"id": await self._category_id(name)})
        unique = {c["id"]: c for c in out}
        return list(unique.values())

    async def _category_id(self, name: str) -> int:
        if self._categories is None:
            await self.categories()
        key = path_key(name)
        if ">" in name and key in self._by_path:
            return int(self._by_path[key]["id"])
        matches = self._by_name.get(name.strip().lower(), [])
        if len(matches) == 1:
            return int(matches[0]["id"])
        if ">" not in name and key in self._by_path:  # a top-level name among namesakes
            return int(self._by_path[key]["id"])
        if self.create_missing and not matches:
            return await self._create_path(name)
        site = self._client.site.name
        if matches:
            paths = ", ".join(sorted(f"'{m['path']}'" for m in matches))
            raise ItemProblem(
                "ambiguous_category",
                f"category '{name}' matches several categories on site {site} ({paths}); "
                "map it to a full path such as 'Parent > Child'",
            )
        raise ItemProblem(
            "unknown_category",
            f"category '{name}' does not exist on site {site}; create it there or run "
            "`ef map CONNECTION --create-missing`",
        )

    async def resolve_attributes(self, entries: list[Any]) -> list[dict[str, Any]]:
        """Attributes by name → global id where the site has one, else local (name+options)."""
        if not entries:
            return []
        globals_ = {}
        for attr in await self.attributes(with_terms=False):
            globals_[attr["name"].strip().lower()] = attr["id"]
            slug = str(attr.get("slug") or "")
            globals_.setdefault(slug.lower().removeprefix("pa_"), attr["id"])
        out = []
        for entry in entries:
            if not isinstance(entry, dict):
                raise ItemProblem("invalid_attribute", f"attribute {entry!r} is not a mapping")
            entry = dict(entry)
            options = entry.get("options")
            if isinstance(options, str):
                entry["options"] = [options]
            name = entry.get("name")
            if entry.get("id") is None and isinstance(name, str):
                gid = globals_.get(name.strip().lower())
                if gid is not None:
                    entry = {"id": gid, **{k: v for k, v in entry.items() if k != "name"}}
            out.append(entry)
        return out
