"""`ef check`: ask each site whether it answers and whether the credentials may write."""

from __future__ import annotations

import asyncio
from typing import Any

from elementafeeds.config.loader import Workspace
from elementafeeds.errors import ConfigError, ElementaFeedsError, Problem
from elementafeeds.pipeline.sites import destination_factory, embedded_sandbox


def check_sites(ws: Workspace, names: list[str]) -> list[dict[str, Any]]:
    unknown = [n for n in names if n not in ws.sites]
    if unknown:
        raise ConfigError([Problem(str(ws.root / "connections"), None, f"unknown site '{n}'")
                           for n in unknown])
    names = names or sorted(ws.sites)
    with embedded_sandbox(ws, names) as replaced:
        factory = destination_factory()

        async def one(name: str) -> dict[str, Any]:
            site = replaced.get(name, ws.sites[name])
            base = {"site": name, "platform": site.platform, "url": ws.sites[name].url}
            try:
                async with factory(site) as destination:
                    return {**base, **await destination.check()}
            except ElementaFeedsError as exc:
                return {**base, "reachable": False, "auth_ok": False, "can_write": False,
                        "version": None, "latency_ms": None,
                        "message": exc.message + (f" ({exc.hint})" if exc.hint else "")}

        async def every() -> list[dict[str, Any]]:
            return list(await asyncio.gather(*(one(n) for n in names)))

        return asyncio.run(every())
