"""Exit codes of `ef`: documented, stable, relied on by cron and CI scripts."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    """Success."""
    FAILURES = 1
    """The work finished, but with failed records, a failed run or a refused guard."""
    INVALID = 2
    """Invalid configuration or usage; a feed that cannot be read as configured."""
    LOCKED = 3
    """Another run holds the connection's lock."""
    UNREACHABLE = 4
    """A site or feed could not be reached (network, DNS, credentials refused)."""
