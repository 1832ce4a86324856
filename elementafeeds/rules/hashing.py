"""Stable content hashes of a payload, one per field group, so a run can tell what changed.

A hash covers only what the payload sends: no run id, no timestamps (the pipeline adds those
at write time). Each group is the tuple of its fields' values in the fixed order of
`payload.FIELD_GROUPS` (an absent field is None), serialised with `marshal` format 0 and
digested with SHA-1.

Why these choices, measured on Awin-like records: `json.dumps(sort_keys=True)` of a group
costs 2–6 µs and `repr` 1–3 µs, while marshal format 0 is a single C pass that writes text as
UTF-8; format 0 has no object references and no interning flags, so equal values give equal
bytes whatever their history in the process. The payload builder creates every dict in a
fixed key order, so no sorting is needed. SHA-1 is hardware-accelerated and the fastest
stable digest here; this is change detection, not security. `HASH_VERSION` is part of every
digest: bump it when the payload format changes, and every item updates once.
"""

from __future__ import annotations

from hashlib import sha1
from marshal import dumps
from operator import itemgetter
from typing import Any

from elementafeeds.rules.payload import groups_for

HASH_VERSION = "ef-payload-1"

_FLAT = {"tags": itemgetter("name"), "images": itemgetter("src"),
         "meta_data": itemgetter("key", "value")}
"""Lists of one-shape dicts, hashed as tuples of their values: the builder makes these dicts
with fixed keys, and marshal is three times slower on many small dicts than on tuples."""

Plan = tuple[tuple[str, tuple[str, ...], tuple[tuple[int, Any], ...]], ...]
_PLANS: dict[str, Plan] = {}
_SMALL: dict[bytes, str] = {}
"""Digests of short serialisations (prices, categories, attributes repeat across a feed)."""
_SMALL_LIMIT = 50_000


def _plan(platform: str) -> Plan:
    plan = _PLANS.get(platform)
    if plan is None:
        plan = _PLANS[platform] = tuple(
            (group, fields, tuple((i + 1, _FLAT[f]) for i, f in enumerate(fields) if f in _FLAT))
            for group, fields in groups_for(platform).items())
    return plan


def payload_hashes(platform: str, payload: dict[str, Any]) -> dict[str, str]:
    """{group: 40 hex digits} for every field group of the platform."""
    get = payload.get
    small = _SMALL
    out = {}
    for group, fields, flat in _PLANS.get(platform) or _plan(platform):
        values = [HASH_VERSION, *map(get, fields)]
        for i, flatten in flat:
            if values[i].__class__ is list:
                values[i] = tuple(map(flatten, values[i]))
        data = dumps(values, 0)
        if len(data) < 256:
            digest = small.get(data)
            if digest is None:
                digest = sha1(data, usedforsecurity=False).hexdigest()
                if len(small) < _SMALL_LIMIT:
                    small[data] = digest
        else:
            digest = sha1(data, usedforsecurity=False).hexdigest()
        out[group] = digest
    return out
