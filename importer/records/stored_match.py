"""Does what the platform holds match what was sent? Used to settle ambiguous outcomes.

After a request whose answer was lost (timeout, dropped connection, 5xx), a retry in ``Add`` mode may
be told the record "already exists": it may be ours. ``matches(sent, stored)`` says whether every
field sent is held with the same value: strings exactly (date-times as the same instant), numbers as
numbers, objects field by field (the platform may hold more fields than were sent), lists item by item.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any


def matches(sent: Any, stored: Any) -> bool:
    if isinstance(sent, dict):
        return isinstance(stored, dict) and all(matches(v, stored.get(k)) for k, v in sent.items())
    if isinstance(sent, list):
        return isinstance(stored, list) and len(sent) == len(stored) and all(map(matches, sent, stored))
    if isinstance(sent, bool) or isinstance(stored, bool):
        return sent is stored
    if isinstance(sent, (int, float)) and isinstance(stored, (int, float)):
        return math.isclose(sent, stored, rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(sent, str) and isinstance(stored, str):
        return sent == stored or _same_instant(sent, stored)
    return bool(sent == stored)


def _same_instant(a: str, b: str) -> bool:
    try:
        first, second = (datetime.fromisoformat(x.replace("Z", "+00:00")) for x in (a, b))
    except ValueError:
        return False
    if (first.tzinfo is None) != (second.tzinfo is None):
        return False
    return first == second
