"""Fixtures of the sandbox tests: the shared sandbox and clients bound to it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sandbox_clients import wc_client, wp_client

from elementafeeds.sandbox.testing import SandboxHandle


@pytest.fixture
def site(shared_sandbox: SandboxHandle) -> SandboxHandle:
    return shared_sandbox


@pytest.fixture
def wc(site: SandboxHandle) -> Iterator[httpx.Client]:
    with wc_client(site) as client:
        yield client


@pytest.fixture
def wp(site: SandboxHandle) -> Iterator[httpx.Client]:
    with wp_client(site) as client:
        yield client


@pytest.fixture
def anon(site: SandboxHandle) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=site.url + "/wp-json", timeout=10.0) as client:
        yield client
