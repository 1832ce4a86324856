"""Named crash points: the run kills itself with SIGKILL where `EF_CRASH_AT` says.

Used by the crash suite to prove that a run killed at any moment converges on re-run.
`EF_CRASH_AT=point` kills at the first pass of that point; `point:N` at the N-th pass.
Production pays one dictionary lookup per call when the variable is unset.
"""

from __future__ import annotations

import os
import signal

POINTS = (
    "after_lock",
    "after_fetch",
    "after_chunk_mapped",
    "worker_mid_chunk",  # in a pool worker: as the OOM killer would
    "before_batch_sent",
    "after_batch_answered",
    "during_ledger_commit",
    "after_ledger_commit",
    "before_finish",
    "during_finish",
    "reconcile_before_action",
    "reconcile_after_action",
)

_TARGET = os.environ.get("EF_CRASH_AT", "")
_NAME, _, _NTH = _TARGET.partition(":")
_COUNT = {"n": 0}


def crash_point(name: str) -> None:
    if not _TARGET or name != _NAME:
        return
    _COUNT["n"] += 1
    if _COUNT["n"] >= int(_NTH or 1):
        os.kill(os.getpid(), signal.SIGKILL)
