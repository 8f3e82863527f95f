"""Oplog positions as plain values: ``OplogTime(secs, inc)``, ordered like BSON Timestamps.

Kept free of pymongo so catalog code (listing, pruning) runs on hosts without it. Positions appear
as ``{"t": secs, "i": inc}`` in manifests (as ``consistency.oplog`` of a backup does), as
``secs.inc`` zero-padded in key names (so listings sort by time), and as text operators type:
an ISO 8601 UTC time (every entry of that second is included) or ``secs:inc``.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Mapping, NamedTuple, Optional

from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.times import format_time, parse_time

MAX_INC = 0xFFFFFFFF
NAME = re.compile(r"^(\d{10})\.(\d{10})$")
TYPED = re.compile(r"^\s*(?:Timestamp\()?\s*(\d{1,10})\s*[:,.]\s*(\d{1,10})\s*\)?\s*$")


class OplogTime(NamedTuple):
    """A cluster time: seconds since the epoch and the increment within that second."""

    secs: int
    inc: int

    @property
    def name(self) -> str:
        """``0001732700000.0000000005``-style: fixed width, so names sort as times do."""
        return f"{self.secs:010d}.{self.inc:010d}"

    @property
    def moment(self) -> datetime:
        return datetime.fromtimestamp(self.secs, timezone.utc)

    def record(self) -> dict:
        return {"t": self.secs, "i": self.inc}

    def text(self) -> str:
        """``secs:inc`` (what ``parse_target`` reads back)."""
        return f"{self.secs}:{self.inc}"

    def describe(self) -> str:
        """For people: ``2026-11-27T17:00:00Z (1795798800:3)``."""
        return f"{format_time(self.moment)} ({self.text()})"

    def summary(self) -> dict:
        return {"ts": self.text(), "time": format_time(self.moment), "t": self.secs, "i": self.inc}


def from_timestamp(ts: Any) -> OplogTime:
    """A ``bson.Timestamp`` (or anything with ``time``/``inc``) as an ``OplogTime``."""
    return OplogTime(int(ts.time), int(ts.inc))


def from_record(record: Optional[Mapping[str, Any]]) -> Optional[OplogTime]:
    """``{"t": secs, "i": inc}`` (None stays None); anything else is a damaged record."""
    if record is None:
        return None
    try:
        secs, inc = int(record["t"]), int(record["i"])
    except (KeyError, TypeError, ValueError):
        raise OffsiteError(f"{record!r} is not an oplog position {{t, i}}: the manifest is damaged") from None
    return OplogTime(secs, inc)


def from_name(text: str) -> Optional[OplogTime]:
    """The position a key segment names, or None when it is not one."""
    match = NAME.match(text)
    return OplogTime(int(match.group(1)), int(match.group(2))) if match else None


def parse_target(value: Any, option: str = "restore_to_time") -> OplogTime:
    """What an operator asks to recover to: ``secs:inc`` exactly, an ISO 8601 time (whole second included),
    or a duration ago (``2h``)."""
    text = str(value if value is not None else "").strip()
    typed = TYPED.match(text)
    if typed:
        secs, inc = int(typed.group(1)), int(typed.group(2))
        if inc > MAX_INC:
            raise OffsiteError(f"{option} {value!r}: the increment must be at most {MAX_INC}")
        return OplogTime(secs, inc)
    if not text or text.isdigit():
        raise OffsiteError(
            f"{option} {value!r} is not a point in time: give an ISO 8601 UTC time such as 2026-11-27T17:05:30Z, "
            "or an oplog timestamp seconds:increment such as 1795799130:4"
        )
    moment = parse_time(text, option)
    return OplogTime(int(moment.timestamp()), MAX_INC)
