"""The per-run log file: every error record and milestone as one JSON line.

The database keeps a capped summary; this file keeps everything. Known secret values are
scrubbed from every line before it is written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from elementafeeds.state.store import utcnow


class RunLog:
    def __init__(self, path: Path | None, secrets: list[str] | None = None) -> None:
        self.path = path
        self.secrets = [s for s in (secrets or []) if s]
        self._file = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = path.open("a", encoding="utf-8")

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def write(self, event: str, **fields: Any) -> None:
        if self._file is None:
            return
        line = json.dumps({"at": utcnow(), "event": event, **fields}, ensure_ascii=False,
                          default=str)
        self._file.write(self.scrub(line) + "\n")

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
