"""What a pool worker does with one chunk: read its own bytes, filter, map and hash.

Top-level functions with plain, picklable arguments only. The worker parses its own bytes
(a CSV byte range or a JSON-lines chunk file), because pickling parsed records from the
parent costs more than a second core gives back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from elementafeeds.feeds import ChunkTask, RecordProblem, read_chunk
from elementafeeds.pipeline.crash import crash_point
from elementafeeds.rules import Outcome, RuleSet, process_records


@dataclass
class ChunkResult:
    index: int
    records: int
    outcomes: list[Outcome]
    problems: list[RecordProblem] = field(default_factory=list)


def map_chunk(task: ChunkTask, rules: RuleSet) -> ChunkResult:
    read = read_chunk(task)
    crash_point("worker_mid_chunk")
    outcomes = process_records(rules, read.records, task.first_record)
    return ChunkResult(task.index, len(read.records), outcomes, read.problems)
