"""How commands reach sites: destinations by platform, one gate per site, the embedded sandbox.

Sites whose url is `sandbox://local` are served by a sandbox started in this process, for the
bundled example and for trying a configuration without a store.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from elementafeeds.config.loader import Workspace
from elementafeeds.config.models import Site

SANDBOX_KEY_ENV = "EF_SANDBOX_KEY"
SANDBOX_SECRET_ENV = "EF_SANDBOX_SECRET"


def destination_factory() -> Callable[[Site], Any]:
    """Open a site's destination; all connections of one site share one gate.

    The embedded sandbox starts empty, so its destination creates the categories a connection
    names (a real store's categories are the operator's: `ef map --create-missing`).
    """
    from elementafeeds.destinations.registry import GateRegistry, open_destination

    gates = GateRegistry()

    def factory(site: Site, post_type: str | None = None) -> Any:
        embedded = site.credentials.get("consumer_key") == f"${{{SANDBOX_KEY_ENV}}}"
        options: dict[str, Any] = {"create_missing_categories": embedded}
        if site.platform == "wordpress":  # posts' tags are created on request
            options.update(post_type=post_type or "posts", create_missing_tags=True)
        return open_destination(site, gates.for_site(site), **options)

    return factory


@contextmanager
def embedded_sandbox(ws: Workspace, site_names: Sequence[str], dry_run: bool = False
                     ) -> Iterator[dict[str, Site]]:
    """Start the local sandbox when a selected connection writes to `sandbox://local`.

    Yields replacement Site models pointing at it; its data live in the state directory so
    they survive between runs (and `ef sandbox --db .ef/sandbox.db` shows them).
    """
    embedded = [ws.sites[s] for s in set(site_names) if ws.sites[s].is_embedded_sandbox]
    if not embedded or dry_run:
        yield {}
        return
    from elementafeeds.sandbox.server import DEFAULT_KEY, DEFAULT_SECRET, SandboxServer

    os.environ.setdefault(SANDBOX_KEY_ENV, DEFAULT_KEY)
    os.environ.setdefault(SANDBOX_SECRET_ENV, DEFAULT_SECRET)
    server = SandboxServer(db_path=ws.state_dir / "sandbox.db", port=0,
                           key=os.environ[SANDBOX_KEY_ENV], secret=os.environ[SANDBOX_SECRET_ENV])
    server.start()
    try:
        creds = {"consumer_key": f"${{{SANDBOX_KEY_ENV}}}",
                 "consumer_secret": f"${{{SANDBOX_SECRET_ENV}}}"}
        yield {site.name: site.model_copy(update={"url": server.url, "credentials": creds})
               for site in embedded}
    finally:
        server.stop()
