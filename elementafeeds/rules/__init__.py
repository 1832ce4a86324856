"""Rules: filters, field/category/attribute mappings, transforms, SKUs, presets, payloads.

Everything here is a pure function of one record and one connection, compiled once per run
and per worker process. The pipeline calls `build_ruleset`, then `process_records` in its
workers, and `update_payload` when an existing item changed.
"""

from __future__ import annotations

from elementafeeds.rules.engine import (
    FIELD_GROUPS,
    Checked,
    Outcome,
    RuleSet,
    build_ruleset,
    check_records,
    process_record,
    process_records,
    sku_keys,
    update_payload,
)

__all__ = ["FIELD_GROUPS", "Checked", "Outcome", "RuleSet", "build_ruleset", "check_records",
           "check_workspace", "preview_connection", "process_record", "process_records",
           "sku_keys", "update_payload"]


def __getattr__(name: str):  # keep `import elementafeeds.rules` light for `ef --help`
    if name == "check_workspace":
        from elementafeeds.rules.checks import check_workspace

        return check_workspace
    if name == "preview_connection":
        from elementafeeds.rules.preview import preview_connection

        return preview_connection
    raise AttributeError(name)
