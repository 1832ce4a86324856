"""Stable content hashes of a payload, one per field group, so a run can tell what changed.

A hash covers only what the payload sends: no run id, no timestamps (the pipeline adds those
at write time). Each group is the tuple of its fields' values in the fixed order of
`payload.FIELD_GROUPS` (an absent field is None), serialised with `marshal` format 0 and
digested with XXH3-128 (xxhash).

Why these choices, measured on Awin-like records: `json.dumps(sort_keys=True)` of a group
costs 2–6 µs and `repr` 1–3 µs, while marshal format 0 is a single C pass that writes text as
UTF-8; format 0 has no object references and no interning flags, so equal values give equal
bytes whatever their history in the process. The payload builder creates every dict in a
fixed key order, so no sorting is needed. This is change detection, not security: XXH3-128
costs 0.05 µs a digest where SHA-1 cost 0.3–0.55 µs (five digests a record made hashing the
largest single cost of mapping), and 128 bits keep an accidental collision out of reach.
`HASH_VERSION` is part of every digest: bump it when the payload format or the digest changes,
and every item updates once.
"""

from __future__ import annotations

from marshal import dumps
from operator import itemgetter
from typing import Any

from xxhash import xxh3_128_hexdigest

from elementafeeds.rules.payload import groups_for

HASH_VERSION = "ef-payload-2"

_FLAT = {"tags": itemgetter("name"), "images": itemgetter("src"),
         "meta_data": itemgetter("key", "value")}
"""Lists of one-shape dicts, hashed as tuples of their values: the builder makes these dicts
with fixed keys, and marshal is three times slower on many small dicts than on tuples."""

Step = tuple[str, "str | None", tuple[str, ...], tuple[tuple[int, Any], ...], Any]
"""(group, its one field or None, fields, (index, flatten) of list fields, flatten of the one
field): most groups have a single field, hashed without unpacking a `map`."""
Plan = tuple[Step, ...]
_PLANS: dict[str, Plan] = {}


def _plan(platform: str) -> Plan:
    plan = _PLANS.get(platform)
    if plan is None:
        plan = _PLANS[platform] = tuple(
            (group, fields[0] if len(fields) == 1 else None, fields,
             tuple((i + 1, _FLAT[f]) for i, f in enumerate(fields) if f in _FLAT),
             _FLAT.get(fields[0]))
            for group, fields in groups_for(platform).items())
    return plan


def payload_hashes(platform: str, payload: dict[str, Any]) -> dict[str, str]:
    """{group: 32 hex digits} for every field group of the platform."""
    get = payload.get
    out = {}
    for group, field, fields, flat, flatten in _PLANS.get(platform) or _plan(platform):
        if field is not None:
            value = get(field)
            if flatten is not None and value.__class__ is list:
                value = tuple(map(flatten, value))
            values = [HASH_VERSION, value]
        else:
            values = [HASH_VERSION, *map(get, fields)]
            for i, flatten_at in flat:
                if values[i].__class__ is list:
                    values[i] = tuple(map(flatten_at, values[i]))
        out[group] = xxh3_128_hexdigest(dumps(values, 0))
    return out
