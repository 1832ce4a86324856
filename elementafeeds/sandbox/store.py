"""The sandbox's SQLite file: products, terms, attributes, media and posts as JSON documents.

Each object is one JSON document plus the few indexed columns the REST queries filter and sort
on (id, lower(sku), status, type, dates, slug). This is the only module that writes SQL. One
connection is shared by the worker threads under a re-entrant lock; a request runs in one
transaction (`tx`), so a batch of 100 creates costs one commit. WAL keeps readers of the file
(another `ef` process, a test) out of the writer's way, and the data survive a restart.

Products, posts and media share one id sequence as they share `wp_posts` on a real site; the
taxonomy terms share another. The site starts with the two default categories WordPress and
WooCommerce create: "Uncategorized" id 1 (posts) and id 15 (products).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from elementafeeds.sandbox.text import as_float

DEFAULT_POST_CATEGORY = 1
DEFAULT_PRODUCT_CATEGORY = 15

_SCHEMA = """
CREATE TABLE IF NOT EXISTS seq (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS products (
  id INTEGER PRIMARY KEY, sku_lower TEXT NOT NULL, status TEXT NOT NULL, type TEXT NOT NULL,
  name TEXT, slug TEXT, date_created TEXT, date_modified TEXT, menu_order INTEGER,
  price REAL, total_sales INTEGER, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS ix_products_sku ON products(sku_lower);
CREATE INDEX IF NOT EXISTS ix_products_status ON products(status, date_created);
CREATE INDEX IF NOT EXISTS ix_products_type ON products(type);
CREATE INDEX IF NOT EXISTS ix_products_slug ON products(slug);
CREATE TABLE IF NOT EXISTS object_terms (
  object_id INTEGER NOT NULL, term_id INTEGER NOT NULL, status TEXT NOT NULL,
  PRIMARY KEY (object_id, term_id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ix_object_terms_term ON object_terms(term_id, status);
CREATE TABLE IF NOT EXISTS terms (
  id INTEGER PRIMARY KEY, taxonomy TEXT NOT NULL, name TEXT NOT NULL, name_lower TEXT NOT NULL,
  slug TEXT NOT NULL, parent INTEGER NOT NULL DEFAULT 0, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS ix_terms_name ON terms(taxonomy, name_lower, parent);
CREATE INDEX IF NOT EXISTS ix_terms_slug ON terms(taxonomy, slug);
CREATE TABLE IF NOT EXISTS attributes (
  id INTEGER PRIMARY KEY, slug TEXT NOT NULL UNIQUE, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS media (id INTEGER PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS posts (
  id INTEGER PRIMARY KEY, post_type TEXT NOT NULL, status TEXT NOT NULL, slug TEXT NOT NULL,
  title TEXT, date TEXT, modified TEXT, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS ix_posts_type ON posts(post_type, status, date);
CREATE INDEX IF NOT EXISTS ix_posts_slug ON posts(post_type, slug);
"""

_TABLES = ("seq", "products", "object_terms", "terms", "attributes", "media", "posts")


@dataclass
class Query:
    """A filtered, sorted, paged listing; `where` holds SQL fragments with `?` parameters."""

    where: list[str] = field(default_factory=list)
    args: list[Any] = field(default_factory=list)
    order_sql: str = "id DESC"
    limit: int = 10
    offset: int = 0

    def add(self, clause: str, *args: Any) -> None:
        self.where.append(clause)
        self.args.extend(args)

    def add_in(self, column: str, values: list[Any], negate: bool = False) -> None:
        marks = ",".join("?" * len(values)) or "NULL"
        self.add(f"{column} {'NOT ' if negate else ''}IN ({marks})", *values)

    def add_terms(self, term_ids: list[int]) -> None:
        """Objects carrying any of these terms."""
        marks = ",".join("?" * len(term_ids)) or "NULL"
        self.add(f"id IN (SELECT object_id FROM object_terms WHERE term_id IN ({marks}))",
                 *term_ids)


class Store:
    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._depth = 0
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        with self.tx():
            self._create_schema()
            if self._one("SELECT value FROM seq WHERE name='term'") is None:
                self._seed()

    def _create_schema(self) -> None:
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                self._db.execute(statement)

    def _seed(self) -> None:
        self._db.executemany("INSERT OR REPLACE INTO seq VALUES (?, ?)",
                             [("term", DEFAULT_PRODUCT_CATEGORY), ("post", 100),
                              ("attribute", 0), ("meta", 0)])
        blank = json.dumps({"description": "", "display": "default", "menu_order": 0})
        self._db.executemany(
            "INSERT INTO terms VALUES (?, ?, 'Uncategorized', 'uncategorized', 'uncategorized',"
            " 0, ?)",
            [(DEFAULT_POST_CATEGORY, "category", blank),
             (DEFAULT_PRODUCT_CATEGORY, "product_cat", blank)])

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def tx(self) -> Iterator[None]:
        """One transaction (re-entrant). An exception rolls back, unless it says it keeps the
        changes (a REST error after a partial write, as WordPress has no transactions)."""
        with self._lock:
            outer = self._depth == 0
            if outer:
                self._db.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield
            except BaseException as exc:
                self._depth -= 1
                if outer:
                    keep = getattr(exc, "keeps_changes", False)
                    self._db.execute("COMMIT" if keep else "ROLLBACK")
                raise
            self._depth -= 1
            if outer:
                self._db.execute("COMMIT")

    def reset(self) -> None:
        with self.tx():
            for table in _TABLES:
                self._db.execute(f"DELETE FROM {table}")
            self._seed()

    def _one(self, sql: str, *args: Any) -> Any:
        with self._lock:
            row = self._db.execute(sql, args).fetchone()
        return None if row is None else row[0]

    def _all(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def _exec(self, sql: str, *args: Any) -> None:
        with self.tx():
            self._db.execute(sql, args)

    def next_id(self, name: str) -> int:
        with self.tx():
            self._db.execute("UPDATE seq SET value = value + 1 WHERE name = ?", (name,))
            return int(self._one("SELECT value FROM seq WHERE name = ?", name))

    def _page(self, table: str, columns: str, query: Query) -> tuple[int, list[tuple[Any, ...]]]:
        where = " AND ".join(query.where) or "1"
        total = int(self._one(f"SELECT COUNT(*) FROM {table} WHERE {where}", *query.args))
        rows = self._all(f"SELECT {columns} FROM {table} WHERE {where} ORDER BY "
                         f"{query.order_sql} LIMIT ? OFFSET ?",
                         *query.args, query.limit, query.offset)
        return total, rows

    # --- products -------------------------------------------------------------------------
    def save_product(self, doc: dict[str, Any]) -> None:
        """Insert or replace a product document (its `id` must be set)."""
        self._exec(
            "INSERT OR REPLACE INTO products VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            doc["id"], doc["sku"].lower(), doc["status"], doc["type"], doc["name"], doc["slug"],
            doc["date_created"], doc["date_modified"], doc.get("menu_order", 0),
            as_float(doc.get("price", "")), doc.get("total_sales", 0), json.dumps(doc))

    def delete_product(self, product_id: int) -> None:
        with self.tx():
            self._db.execute("DELETE FROM products WHERE id = ?", (product_id,))
            self._db.execute("DELETE FROM object_terms WHERE object_id = ?", (product_id,))

    def get_product(self, product_id: int) -> dict[str, Any] | None:
        doc = self._one("SELECT doc FROM products WHERE id = ?", product_id)
        return None if doc is None else json.loads(doc)

    def sku_owner(self, sku: str, exclude_id: int = 0, trashed: bool = False) -> int | None:
        """Id of a product holding `sku` (case-insensitive) that is (not) in the trash."""
        op = "=" if trashed else "!="
        return self._one(f"SELECT id FROM products WHERE sku_lower = ? AND id != ? AND "
                         f"status {op} 'trash' ORDER BY id LIMIT 1", sku.lower(), exclude_id)

    def product_slug_taken(self, slug: str, exclude_id: int) -> bool:
        return self._one("SELECT 1 FROM products WHERE slug = ? AND id != ?",
                         slug, exclude_id) is not None

    def query_products(self, query: Query) -> tuple[int, list[dict[str, Any]]]:
        total, rows = self._page("products", "doc", query)
        return total, [json.loads(row[0]) for row in rows]

    def set_object_terms(self, object_id: int, term_ids: list[int], status: str) -> None:
        with self.tx():
            self._db.execute("DELETE FROM object_terms WHERE object_id = ?", (object_id,))
            self._db.executemany("INSERT OR IGNORE INTO object_terms VALUES (?, ?, ?)",
                                 [(object_id, t, status) for t in term_ids])

    # --- terms ----------------------------------------------------------------------------
    def save_term(self, term: dict[str, Any]) -> int:
        """Insert (no `id`) or replace a term; returns its id."""
        with self.tx():
            term_id = term.get("id") or self.next_id("term")
            extras = {k: v for k, v in term.items()
                      if k not in ("id", "taxonomy", "name", "slug", "parent")}
            self._db.execute("INSERT OR REPLACE INTO terms VALUES (?,?,?,?,?,?,?)",
                             (term_id, term["taxonomy"], term["name"], term["name"].lower(),
                              term["slug"], term.get("parent", 0), json.dumps(extras)))
            return int(term_id)

    def delete_term(self, term_id: int) -> None:
        with self.tx():
            self._db.execute("DELETE FROM terms WHERE id = ?", (term_id,))
            self._db.execute("DELETE FROM object_terms WHERE term_id = ?", (term_id,))
            self._db.execute("UPDATE terms SET parent = 0 WHERE parent = ?", (term_id,))

    _TERM_COLUMNS = "id, taxonomy, name, slug, parent, doc"

    @staticmethod
    def _term(row: tuple[Any, ...]) -> dict[str, Any]:
        return {"id": row[0], "taxonomy": row[1], "name": row[2], "slug": row[3],
                "parent": row[4], **json.loads(row[5])}

    def get_term(self, term_id: int, taxonomy: str | None = None) -> dict[str, Any] | None:
        rows = self._all(f"SELECT {self._TERM_COLUMNS} FROM terms WHERE id = ?", term_id)
        if not rows or (taxonomy is not None and rows[0][1] != taxonomy):
            return None
        return self._term(rows[0])

    def terms_by_ids(self, ids: list[int]) -> dict[int, dict[str, Any]]:
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self._all(f"SELECT {self._TERM_COLUMNS} FROM terms WHERE id IN ({marks})", *ids)
        return {row[0]: self._term(row) for row in rows}

    def find_term(self, taxonomy: str, name: str, parent: int | None = None
                  ) -> dict[str, Any] | None:
        """A term of that name, ignoring case (and under `parent`, if given)."""
        sql = f"SELECT {self._TERM_COLUMNS} FROM terms WHERE taxonomy = ? AND name_lower = ?"
        args: list[Any] = [taxonomy, name.lower()]
        if parent is not None:
            sql += " AND parent = ?"
            args.append(parent)
        rows = self._all(sql + " ORDER BY id LIMIT 1", *args)
        return self._term(rows[0]) if rows else None

    def term_slug_taken(self, taxonomy: str, slug: str, exclude_id: int = 0) -> bool:
        return self._one("SELECT 1 FROM terms WHERE taxonomy = ? AND slug = ? AND id != ?",
                         taxonomy, slug, exclude_id) is not None

    def query_terms(self, query: Query) -> tuple[int, list[dict[str, Any]]]:
        total, rows = self._page("terms", self._TERM_COLUMNS, query)
        return total, [self._term(row) for row in rows]

    def term_counts(self, ids: list[int]) -> dict[int, int]:
        """Published objects per term, as WordPress counts them."""
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self._all(f"SELECT term_id, COUNT(*) FROM object_terms WHERE term_id IN ({marks})"
                         " AND status = 'publish' GROUP BY term_id", *ids)
        return {term_id: count for term_id, count in rows}

    def rename_taxonomy(self, old: str, new: str) -> None:
        self._exec("UPDATE terms SET taxonomy = ? WHERE taxonomy = ?", new, old)

    def delete_taxonomy(self, taxonomy: str) -> None:
        with self.tx():
            self._db.execute("DELETE FROM object_terms WHERE term_id IN "
                             "(SELECT id FROM terms WHERE taxonomy = ?)", (taxonomy,))
            self._db.execute("DELETE FROM terms WHERE taxonomy = ?", (taxonomy,))

    # --- attributes -----------------------------------------------------------------------
    def save_attribute(self, attribute: dict[str, Any]) -> int:
        with self.tx():
            attribute_id = attribute.get("id") or self.next_id("attribute")
            doc = {**attribute, "id": attribute_id}
            self._db.execute("INSERT OR REPLACE INTO attributes VALUES (?, ?, ?)",
                             (attribute_id, doc["slug"], json.dumps(doc)))
            return int(attribute_id)

    def get_attribute(self, attribute_id: int) -> dict[str, Any] | None:
        doc = self._one("SELECT doc FROM attributes WHERE id = ?", attribute_id)
        return None if doc is None else json.loads(doc)

    def attribute_by_slug(self, slug: str) -> dict[str, Any] | None:
        doc = self._one("SELECT doc FROM attributes WHERE slug = ?", slug)
        return None if doc is None else json.loads(doc)

    def list_attributes(self) -> list[dict[str, Any]]:
        return [json.loads(r[0]) for r in self._all("SELECT doc FROM attributes ORDER BY id")]

    def delete_attribute(self, attribute_id: int) -> None:
        self._exec("DELETE FROM attributes WHERE id = ?", attribute_id)

    # --- media ----------------------------------------------------------------------------
    def add_media(self, doc: dict[str, Any]) -> int:
        with self.tx():
            media_id = self.next_id("post")
            self._db.execute("INSERT INTO media VALUES (?, ?)",
                             (media_id, json.dumps({**doc, "id": media_id})))
            return media_id

    def get_media(self, media_id: int) -> dict[str, Any] | None:
        doc = self._one("SELECT doc FROM media WHERE id = ?", media_id)
        return None if doc is None else json.loads(doc)

    def media_path_taken(self, path: str) -> bool:
        return self._one("SELECT 1 FROM media WHERE json_extract(doc, '$.path') = ?",
                         path) is not None

    def list_media(self) -> list[dict[str, Any]]:
        return [json.loads(r[0]) for r in self._all("SELECT doc FROM media ORDER BY id")]

    # --- posts ----------------------------------------------------------------------------
    def save_post(self, doc: dict[str, Any]) -> None:
        self._exec("INSERT OR REPLACE INTO posts VALUES (?,?,?,?,?,?,?,?)",
                   doc["id"], doc["post_type"], doc["status"], doc["slug"], doc["title"],
                   doc["date"], doc["modified"], json.dumps(doc))

    def get_post(self, post_id: int, post_type: str | None = None) -> dict[str, Any] | None:
        rows = self._all("SELECT post_type, doc FROM posts WHERE id = ?", post_id)
        if not rows or (post_type is not None and rows[0][0] != post_type):
            return None
        return json.loads(rows[0][1])

    def delete_post(self, post_id: int) -> None:
        with self.tx():
            self._db.execute("DELETE FROM posts WHERE id = ?", (post_id,))
            self._db.execute("DELETE FROM object_terms WHERE object_id = ?", (post_id,))

    def post_slug_taken(self, post_type: str, slug: str, exclude_id: int) -> bool:
        return self._one("SELECT 1 FROM posts WHERE post_type = ? AND slug = ? AND id != ? "
                         "AND status != 'trash'", post_type, slug, exclude_id) is not None

    def query_posts(self, query: Query) -> tuple[int, list[dict[str, Any]]]:
        total, rows = self._page("posts", "doc", query)
        return total, [json.loads(row[0]) for row in rows]
