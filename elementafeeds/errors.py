"""The exception hierarchy of ElementaFeeds.

Messages are written for operators: what went wrong, where, and what to do. No message ever
contains a secret. Every exception pickles (plain fields only), so it can cross the chunk
pool's process boundary.

    ElementaFeedsError
    ├── ConfigError            invalid YAML / workspace (exit 2); carries every Problem found
    ├── UsageError             invalid command-line usage (exit 2)
    ├── FeedError              a feed could not be read as configured (exit 2)
    │   ├── FeedUnreachable    network, DNS, HTTP status, timeout (exit 4)
    │   └── HostileFeedError   bombs, escaping zip paths, entities, oversize (exit 2)
    ├── SiteError              a site answered with a fatal error (401, 403, 404 …) (exit 4)
    │   └── RetriableSiteError timeouts, 429, 5xx, dropped connections: worth retrying (exit 4)
    ├── LockHeldError          another run holds the connection's lock (exit 3)
    └── StateError             the state database cannot be used (exit 2)
"""

from __future__ import annotations

from dataclasses import dataclass

from elementafeeds.exit_codes import ExitCode


@dataclass(frozen=True)
class Problem:
    """One configuration problem, located in a file. Rendered as `file:line: message`."""

    file: str
    line: int | None
    message: str
    hint: str | None = None
    column: int | None = None

    def render(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        text = f"{where}: {self.message}"
        if self.hint:
            text += f" ({self.hint})"
        return text

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "message": self.message,
            "hint": self.hint,
        }


class ElementaFeedsError(Exception):
    """Root of every error ElementaFeeds raises on purpose."""

    exit_code: ExitCode = ExitCode.FAILURES
    hint: str | None = None

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if hint is not None:
            self.hint = hint

    def __reduce__(self):  # keep pickling working for subclasses with extra fields
        return (self.__class__, (self.message, self.hint))

    def __str__(self) -> str:
        return self.message


class ConfigError(ElementaFeedsError):
    """The workspace's YAML is invalid; `problems` holds every one found in one pass."""

    exit_code = ExitCode.INVALID

    def __init__(self, problems: list[Problem] | str, hint: str | None = None) -> None:
        if isinstance(problems, str):
            problems = [Problem(file="<config>", line=None, message=problems, hint=hint)]
        self.problems = list(problems)
        count = len(self.problems)
        summary = "; ".join(p.render() for p in self.problems[:3])
        more = f" (and {count - 3} more)" if count > 3 else ""
        super().__init__(f"{count} configuration problem{'s' * (count != 1)}: {summary}{more}")

    def __reduce__(self):
        return (self.__class__, (self.problems,))


class UsageError(ElementaFeedsError):
    exit_code = ExitCode.INVALID


class FeedError(ElementaFeedsError):
    """A feed that cannot be read as configured."""

    exit_code = ExitCode.INVALID


class FeedUnreachable(FeedError):
    exit_code = ExitCode.UNREACHABLE


class HostileFeedError(FeedError):
    """A feed that tries to hurt the reader: bombs, entities, escaping paths, huge fields."""


class SiteError(ElementaFeedsError):
    """A site refused a request for a reason a retry will not fix (401, 403, 404, 400)."""

    exit_code = ExitCode.UNREACHABLE

    def __init__(
        self, message: str, hint: str | None = None, status: int | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message, hint)
        self.status = status
        self.code = code

    def __reduce__(self):
        return (self.__class__, (self.message, self.hint, self.status, self.code))


class RetriableSiteError(SiteError):
    """Timeouts, 429, 5xx and dropped connections: the same request may succeed later."""

    def __init__(
        self, message: str, hint: str | None = None, status: int | None = None,
        code: str | None = None, retry_after: float | None = None,
    ) -> None:
        super().__init__(message, hint, status, code)
        self.retry_after = retry_after

    def __reduce__(self):
        return (
            self.__class__,
            (self.message, self.hint, self.status, self.code, self.retry_after),
        )


class LockHeldError(ElementaFeedsError):
    exit_code = ExitCode.LOCKED


class StateError(ElementaFeedsError):
    exit_code = ExitCode.INVALID
