"""`ef map CONNECTION`: category, field and attribute mappings from the live site and the feed.

The summary tables go to stderr and the suggested YAML to stdout, so
`ef map CONN --categories > snippet.yaml` keeps only what can be pasted. `--json` prints the
whole report as JSON on stdout instead. The work is `elementafeeds.mapping.map_connection`.
"""

from __future__ import annotations

from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from elementafeeds.cli import common
from elementafeeds.exit_codes import ExitCode

EXAMPLES = """Examples:

\b
  ef map hemtex-to-kaikkimerkit                # suggestions as YAML to paste
  ef map hemtex-to-kaikkimerkit --categories --sample 5000
  ef map hemtex-to-kaikkimerkit --write        # show the diff, ask, edit the file
  ef map hemtex-to-kaikkimerkit --write --yes --create-missing   # in scripts
  ef map hemtex-to-kaikkimerkit --fields --json
"""
MAX_ROWS = 60


def register(app: typer.Typer) -> None:
    @app.command("map", epilog=EXAMPLES)
    def map_command(
        connection: str = typer.Argument(..., help="The connection to map."),
        categories: bool = typer.Option(False, "--categories", help="Category mapping."),
        fields: bool = typer.Option(False, "--fields", help="Field mapping."),
        attributes: bool = typer.Option(False, "--attributes", help="Attribute mapping."),
        write: bool = typer.Option(
            False, "--write", help="Merge the suggestions into the connection's YAML file "
            "(comments and formatting kept); shows the diff and asks first."),
        overwrite: bool = typer.Option(
            False, "--overwrite", help="With --write: replace existing entries too."),
        yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask (for scripts)."),
        as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
        sample: int | None = typer.Option(
            None, "--sample", min=1, help="Read only the first N records of the feed."),
        create_missing: bool = typer.Option(
            False, "--create-missing", help="Create categories the mapping names that the "
            "site lacks (parents first); feed paths without a match are mirrored."),
        min_score: float = typer.Option(
            70.0, "--min-score", min=0, max=100, help="Lowest score (0-100) of a suggestion."),
    ) -> None:
        """Suggest category, field and attribute mappings from the live site and the feed.

        Reads the site's category tree and global attributes, streams the feed (or the first
        --sample N records), and shows per source category its record count, current mapping
        and best match on the site, the coverage now and with the suggestions, the feed's
        columns for each destination field, and attribute columns next to the site's
        attributes. Without --write the suggestions print as YAML to paste (the tables go to
        stderr); --write merges them into the connection's file. Exit 4 when the site or the
        feed cannot be reached.
        """
        from elementafeeds.mapping.service import MapOptions, map_connection

        every = not (categories or fields or attributes)
        options = MapOptions(
            categories=categories or every, fields=fields or every,
            attributes=attributes or every, sample=sample, min_score=min_score, write=write,
            overwrite=overwrite, create_missing=create_missing,
        )
        shown: list[bool] = []

        def confirm(report: dict[str, Any]) -> bool:
            if not as_json:
                _render(report, options.write)
                shown.append(True)
            _render_pending(report, common.err_console if as_json else common.console)
            try:
                return typer.confirm("Apply these changes?", default=False, err=True)
            except typer.Abort:
                common.fail("no answer to the confirmation (stdin closed)",
                            ExitCode.INVALID, hint="pass --yes to apply without asking")
                raise AssertionError("unreachable") from None

        report = common.call(map_connection, common.workspace_dir(), connection, options,
                             confirm=None if yes else confirm, as_json=as_json)
        if as_json:
            common.print_json(report)
            return
        if not shown:
            _render(report, options.write)
            _render_pending(report, common.console)
        _render_outcome(report)


# ---------------------------------------------------------------------------------------------
# rendering


def _render(report: dict[str, Any], write: bool) -> None:
    err = common.err_console
    sampled = " (sample)" if report.get("sampled") else ""
    err.print(f"connection [bold]{common.escape(report['connection'])}[/]: feed "
              f"{common.escape(report['feed'])} → site {common.escape(report['site'])}, "
              f"{report['records']} records read{sampled}")
    if report.get("problems"):
        err.print("the connection has problems now (field suggestions may fix some):")
        for p in report["problems"]:
            where = f"{p['file']}:{p['line']}" if p.get("line") else p["file"]
            err.print(f"  {common.escape(where)}: {common.escape(p['message'])}", soft_wrap=True)
    if report.get("categories"):
        _categories(report["categories"])
    if report.get("fields"):
        _fields(report["fields"])
    if report.get("attributes"):
        _attributes(report["attributes"])
    if not write:
        if report.get("yaml"):
            err.print(f"\nsuggested additions for {common.escape(report['file'])} "
                      "(stdout; --write merges them):")
            common.console.print(common.escape(report["yaml"]), end="", soft_wrap=True)
        else:
            err.print("\nnothing to suggest: every mapping is in place")


def _table(title: str, columns: list[str], rows: list[list[Any]], more: int = 0) -> None:
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(common.escape(_cell(v)) for v in row))
    common.err_console.print(table)
    if more:
        common.err_console.print(f"… and {more} more (--json shows all)")


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return ", ".join(_flow(v) for v in value)
    return _flow(value)


def _flow(value: Any) -> str:
    """A mapping as it reads in YAML flow style: `{from: price, transform: [price]}`."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    text = str(value).replace("\n", " ⏎ ")
    return "".join(ch if ch.isprintable() else "?" for ch in text)


def _categories(section: dict[str, Any]) -> None:
    err = common.err_console
    source = section.get("source")
    if not source:
        err.print("categories: no source column configured or found in the feed "
                  "(set categories.source)")
        return
    note = " (suggested)" if section.get("source_suggested") else ""
    rows = []
    for row in section["paths"][:MAX_ROWS]:
        s = row.get("suggestion")
        target = (s["path"] + (" (new)" if s["create"] else "")) if s else None
        rows.append([row["path"], row["records"], row["current"], target,
                     s["score"] if s else None, "yes" if row["accepted"] else ""])
    _table(f"source categories ({source}{note}; site has {section['site_categories']})",
           ["source path", "records", "current", "suggestion", "score", "add"], rows,
           max(0, len(section["paths"]) - MAX_ROWS))
    c = section["coverage"]
    err.print(f"coverage: {c['mapped_now']}/{c['records']} records mapped now "
              f"({c['share_now']:.0%}), {c['mapped_with_suggestions']}/{c['records']} with "
              f"the suggestions ({c['share_with_suggestions']:.0%}); "
              f"{c['paths_mapped_now']}/{c['paths']} paths now, "
              f"{c['paths_mapped_with_suggestions']} with the suggestions")
    if section.get("missing_on_site"):
        err.print("not on the site: " + common.escape(", ".join(section["missing_on_site"]))
                  + ("" if section.get("to_create") else " (--create-missing creates them)"))


def _fields(section: dict[str, Any]) -> None:
    rows = [[r["field"], r["status"], r["current"], r["suggestion"], r["reason"],
             r["samples"][:1]] for r in section["fields"]]
    sku = section["sku"]
    rows.append(["sku", sku["status"], sku["current"], sku["suggestion"], sku["reason"], []])
    _table("fields", ["field", "status", "current", "suggestion", "why", "sample"], rows)
    if section.get("hint"):
        common.err_console.print(f"hint: {common.escape(section['hint'])}")


def _attributes(section: dict[str, Any]) -> None:
    if section.get("note"):
        common.err_console.print(f"attributes: {common.escape(section['note'])}")
        return
    site = [[a["name"], a["slug"], a["terms"][:8], a["terms_total"],
             "configured" if a["configured"] else a["suggested_from"]] for a in section["site"]]
    _table("site attributes", ["attribute", "slug", "terms", "terms in all", "column"], site)
    columns = [[c["column"], c["concept"], c["distinct"], c["values"][:6], c["split"]]
               for c in section["columns"][:MAX_ROWS]]
    _table("attribute-like columns", ["column", "meaning", "distinct", "values", "split"],
           columns)


def _render_pending(report: dict[str, Any], out: Console) -> None:
    """The diff of the file (on `out`: stdout, or stderr under --json) and the categories
    that would be created."""
    err = common.err_console
    write = report.get("write")
    if write and write["changed"]:
        for line in write["diff"].splitlines():
            style = ("green" if line.startswith("+") else "red" if line.startswith("-")
                     else "cyan" if line.startswith("@@") else None)
            text = common.escape(line)
            out.print(f"[{style}]{text}[/]" if style else text, soft_wrap=True)
    elif write and not write["changed"]:
        err.print(f"{common.escape(write['file'])}: nothing to add"
                  + (f" ({len(write['kept'])} entries already there; --overwrite replaces "
                     "them)" if write["kept"] else ""))
    planned = report.get("create", {}).get("planned") or []
    if planned and not report.get("applied"):
        err.print(f"categories to create on site {common.escape(report['site'])}, parents "
                  "first:")
        for path in planned:
            err.print(f"  + {common.escape(path)}")


def _render_outcome(report: dict[str, Any]) -> None:
    err = common.err_console
    created = report.get("create", {}).get("created") or []
    if created:
        err.print(f"created {len(created)} categor{'y' if len(created) == 1 else 'ies'} on "
                  f"site {common.escape(report['site'])}")
    write = report.get("write")
    if write and write.get("written"):
        err.print(f"wrote {common.escape(write['file'])}: {len(write['added'])} added, "
                  f"{len(write['replaced'])} replaced, {len(write['kept'])} kept")
    elif not report.get("applied") and ((write and write["changed"])
                                        or report.get("create", {}).get("planned")):
        err.print("nothing changed")
