"""No secret leaves the process: not in exceptions, results, reprs or log lines.

Canary keys are given to the sandbox and the environment, then writes are driven through
401s, 500s, lost answers, timeouts, dropped and refused connections with every logger at DEBUG
(httpx logs each request's URL, which carries OAuth parameters or, with `auth: query`, the
keys themselves).
"""

from __future__ import annotations

import asyncio
import logging
import pickle
import socket
import traceback
from typing import Any

import pytest
from dest_helpers import (
    KEY_ENV,
    SECRET_ENV,
    RecordingTransport,
    creates,
    destination,
    make_gate,
    make_site,
)

from elementafeeds.destinations.retry import RetryPolicy
from elementafeeds.destinations.woocommerce import WooCommerceDestination
from elementafeeds.errors import SiteError
from elementafeeds.sandbox.testing import SandboxHandle

CANARY_KEY = "ck_CANARYKEY_7d41c09e"
CANARY_SECRET = "cs_CANARYSECRET_5f3a9b2e"
QUICK = RetryPolicy(attempts=3, initial_s=0.001, max_backoff_s=0.005, max_total_s=10.0,
                    split_after=1)
FAULTS = {"server_error": {"rate": 0.3}, "gateway_timeout_after": {"rate": 0.2},
          "hang_after_apply": {"rate": 0.1, "seconds": 0.5}, "drop_connection": {"rate": 0.1},
          "html_200": {"rate": 0.1}, "rate_limit": {"rate": 0.1, "retry_after": 0}}


def _texts(obj: Any) -> list[str]:
    """Every rendering of an object an operator or a log might see."""
    out = [str(obj), repr(obj)]
    if isinstance(obj, BaseException):
        out.append("".join(traceback.format_exception(obj)))
        out.append(repr(pickle.loads(pickle.dumps(obj)).__dict__))
        out.append(repr(getattr(obj, "partial_results", None)))
        out.append(str(getattr(obj, "hint", None)))
    return out


@pytest.mark.parametrize("auth,lenient", [("auto", False), ("query", True), ("query", False),
                                          ("basic", True)])
def test_canary_secrets_appear_in_no_exception_result_repr_or_log(
        wc: SandboxHandle, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        auth: str, lenient: bool) -> None:
    caplog.set_level(logging.DEBUG)
    wc.configure(consumer_key=CANARY_KEY, consumer_secret=CANARY_SECRET, lenient_auth=lenient)
    monkeypatch.setenv(KEY_ENV, CANARY_KEY)
    monkeypatch.setenv(SECRET_ENV, CANARY_SECRET)
    seen: list[Any] = []

    async def attempt(**kw: Any) -> None:
        dest = destination(wc, retry=QUICK, auth=auth,
                           limits={"batch_size": 5, "timeout_s": 0.3}, **kw)
        seen.append(dest)
        try:
            async with dest:
                seen.append(await dest.check())
                seen.extend(await dest.write(creates(20)))
                seen.append(await dest.find_by_skus([f"SKU-{i}" for i in range(20)]))
        except SiteError as exc:
            seen.append(exc)

    async def main() -> None:
        wc.set_faults(FAULTS, seed=7)
        await attempt(transport=RecordingTransport())
        wc.clear_faults()
        monkeypatch.setenv(SECRET_ENV, CANARY_SECRET + "_wrong")  # 401 (or anonymous)
        await attempt()
        with socket.socket() as s:  # a port nobody listens on: refused connections
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        site = make_site(f"http://127.0.0.1:{port}", auth=auth)
        dead = WooCommerceDestination(site, make_gate(site), retry=QUICK)
        try:
            async with dead:
                seen.extend(await dead.write(creates(3)))
        except SiteError as exc:
            seen.append(exc)

    asyncio.run(main())
    errors = [x for x in seen if isinstance(x, SiteError)]
    assert errors, "the scenario should have produced site errors"
    assert any(e.status == 401 for e in errors)
    assert any(getattr(x, "code", None) == "connect_error" for x in seen)
    for obj in seen:
        for text in _texts(obj):
            assert CANARY_SECRET not in text and CANARY_KEY not in text, text
    log_text = caplog.text + "".join(r.getMessage() for r in caplog.records)
    assert "HTTP Request" in log_text  # httpx did log its URLs…
    assert CANARY_SECRET not in log_text and CANARY_KEY not in log_text  # …scrubbed
