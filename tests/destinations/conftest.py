"""Fixtures for the destination tests: the shared sandbox with keys in the environment."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dest_helpers import KEY_ENV, SECRET_ENV

from elementafeeds.sandbox.testing import SandboxHandle


@pytest.fixture
def wc(shared_sandbox: SandboxHandle, monkeypatch: pytest.MonkeyPatch
       ) -> Iterator[SandboxHandle]:
    """The session sandbox, wiped, with its keys exported as the site's ${ENV} references."""
    monkeypatch.setenv(KEY_ENV, shared_sandbox.key)
    monkeypatch.setenv(SECRET_ENV, shared_sandbox.secret)
    yield shared_sandbox
    shared_sandbox.set_faults({}, seed=0)  # a reset keeps the fault seed: leave the default
