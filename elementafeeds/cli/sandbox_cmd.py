"""`ef sandbox`: serve a local WooCommerce- and WordPress-compatible site until Ctrl-C."""

from __future__ import annotations

import json
import signal
import sqlite3
from pathlib import Path
from typing import Any

import typer

from elementafeeds.cli import common
from elementafeeds.errors import UsageError

EPILOG = """\b
Examples:
  ef sandbox                                  # http://127.0.0.1:8765, data in .ef/sandbox.db
  ef sandbox --port 0 --db /tmp/try.db        # any free port, a throw-away site
  ef sandbox --post-type hotels --meta hotel_city --meta hotel_stars:integer
  ef sandbox --lenient-auth                   # also accept curl -u ck_sandbox:cs_sandbox
  ef sandbox --image-unreachable-host cdn.example.com
  ef sandbox --fault rate_limit=0.1:retry_after=2 --fault latency:seconds=0.3 --fault-seed 7
  ef sandbox --fault gateway_timeout_after=0.05:methods=writes --fault capacity:limit=2

\b
Faults (NAME[=RATE][:key=value,...]; lists joined by |; change them at run time with
PUT/PATCH /__admin/faults): latency(seconds), item_latency(seconds), capacity(limit,
queue_timeout), drop_connection, rate_limit(retry_after), gateway_timeout_before,
gateway_timeout_after, server_error, html_200, malformed_json(mode=notice|truncated),
hang_after_apply(seconds). Every fault takes rate, methods (list, "writes" or "reads"),
routes (fnmatch patterns on the path), times, and phase (before|after) where it applies.

\b
Default credentials (fake, fixed): consumer key ck_sandbox, secret cs_sandbox;
WordPress user sandbox, application password "sandbox app password";
read-only user sandbox_reader with the same password.
"""


def register(app: typer.Typer) -> None:
    app.command("sandbox", epilog=EPILOG)(sandbox)


def sandbox(
    host: str = typer.Option("127.0.0.1", help="Address to listen on (loopback by default)."),
    port: int = typer.Option(8765, help="Port to listen on; 0 picks a free one."),
    db: Path | None = typer.Option(
        None, help="SQLite file holding the site's data. Default: <workspace>/.ef/sandbox.db"),
    key: str = typer.Option("ck_sandbox", help="WooCommerce consumer key."),
    secret: str = typer.Option("cs_sandbox", help="WooCommerce consumer secret."),
    wp_user: str = typer.Option("sandbox", help="WordPress user for application passwords."),
    wp_password: str = typer.Option("sandbox app password",
                                     help="That user's application password."),
    lenient_auth: bool = typer.Option(
        False, "--lenient-auth",
        help="Act as an https site: also accept the key by Basic auth or query string."),
    post_type: list[str] = typer.Option(
        [], metavar="REST_BASE",
        help="A custom post type REST base (e.g. hotels, or hotel:hotels); repeatable."),
    meta: list[str] = typer.Option(
        [], metavar="KEY[:TYPE]",
        help="Register an extra meta key, KEY[:string|integer|number|boolean]; repeatable."),
    image_unreachable_host: list[str] = typer.Option(
        [], metavar="HOST",
        help="Image URLs on this host fail to download (400, product not saved)."),
    no_batch_v1: bool = typer.Option(
        False, "--no-batch-v1", help="Behave as a site without /batch/v1."),
    fault: list[str] = typer.Option(
        [], metavar="SPEC",
        help="Switch a fault on at start: NAME[=RATE][:key=value,...]; repeatable."),
    fault_seed: int = typer.Option(0, help="Seed for the faults' random draws."),
    faults_json: Path | None = typer.Option(
        None, help='A JSON file {"seed": 0, "faults": {...}} as PUT /__admin/faults takes.'),
) -> None:
    """Serve a local WooCommerce and WordPress REST API backed by SQLite, until Ctrl-C.

    Data survive a restart. Plain http on loopback: WooCommerce requests must be signed with
    OAuth 1.0a (as a real store on http requires) unless --lenient-auth is given.
    """
    from elementafeeds.sandbox.config import PostType, SandboxConfig, parse_meta
    from elementafeeds.sandbox.faults import parse_fault_option
    from elementafeeds.sandbox.server import SandboxServer

    with common.handle_errors():
        try:
            config = SandboxConfig(consumer_key=key, consumer_secret=secret,
                                   lenient_auth=lenient_auth,
                                   post_types=[PostType.parse(p) for p in post_type],
                                   unreachable_image_hosts=set(image_unreachable_host),
                                   batch_v1=not no_batch_v1)
            config.wp_users[0].username, config.wp_users[0].password = wp_user, wp_password
            config.meta_keys.update(parse_meta(m) for m in meta)
            faults: dict[str, Any] = {"seed": fault_seed, "faults": {}}
            if faults_json is not None:
                faults = json.loads(faults_json.read_text(encoding="utf-8"))
            faults.setdefault("faults", {}).update(parse_fault_option(f) for f in fault)
            db_path = db or common.workspace_dir() / ".ef" / "sandbox.db"
            server = SandboxServer(db_path, host=host, port=port, config=config, faults=faults)
        except (ValueError, OSError, sqlite3.Error) as exc:
            raise UsageError(str(exc)) from exc
        server.start()
    _announce(server, db_path)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.wait()
    except KeyboardInterrupt:
        common.err_console.print("stopping")
    finally:
        server.stop()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _announce(server: Any, db_path: Path) -> None:
    url, config, esc = server.url, server.config, common.escape
    bases = ", ".join(pt.rest_base for pt in config.all_post_types())
    auth = ("OAuth 1.0a signature, or Basic / ?consumer_key= (lenient)" if config.lenient_auth
            else "OAuth 1.0a signature (plain http; Basic is ignored)")
    faults = server.plan.to_json()["faults"]
    lines = [
        f"[bold]ElementaFeeds sandbox[/] serving {esc(url)}   data: {esc(str(db_path))}",
        "",
        f"WooCommerce  {esc(url)}/wp-json/wc/v3",
        f"  consumer key     {esc(config.consumer_key)}",
        f"  consumer secret  {esc(config.consumer_secret)}",
        f"  auth             {auth}",
        f"WordPress    {esc(url)}/wp-json/wp/v2   post types: {esc(bases)}",
        f"  user             {esc(config.wp_users[0].username)}",
        f"  app password     {esc(config.wp_users[0].password)}",
        f"Admin        {esc(url)}/__admin/  (faults, requests, products, posts, reset)",
        f"Faults       {esc(', '.join(faults)) if faults else 'none'}",
        "",
        "Press Ctrl-C to stop.",
    ]
    for line in lines:
        common.console.print(line, soft_wrap=True)
