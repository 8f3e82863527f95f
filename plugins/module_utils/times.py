"""The times operators type and the times results show: UTC, ISO 8601, durations such as ``7d``.

Every time the collection handles is a timezone-aware UTC ``datetime``; text is produced by
``format_time`` (seconds) or ``precise_time`` (microseconds, for dump start and end).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Optional

from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError

DURATION = re.compile(r"^\s*(\d{1,12})\s*([smhdwy]?)\s*$")
UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "y": 365 * 86400}
MAX_DURATION = timedelta(days=100 * 365)  # longer than any retention or lease anyone means
EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(9999, 12, 31, tzinfo=timezone.utc)


def utc_now() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(timezone.utc)


def to_utc(moment: datetime) -> datetime:
    """A timezone-aware UTC datetime (naive datetimes are taken as UTC)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def format_time(moment: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``, to the second: ``2026-11-23T10:15:00Z``."""
    return to_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def precise_time(moment: Optional[datetime] = None) -> str:
    """ISO 8601 in UTC with microseconds (default now): ``2026-11-23T10:15:00.123456Z``."""
    return to_utc(moment or utc_now()).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_duration(text: str, option: str = "duration") -> timedelta:
    """``90s``, ``15m``, ``12h``, ``7d``, ``2w``, ``1y`` (or plain seconds), at most 100 years -> ``timedelta``."""
    match = DURATION.match(str(text))
    if not match:
        raise OffsiteError(
            f"{option} {text!r} is not a duration: use a number with s, m, h, d, w or y, e.g. 7d"
        )
    seconds = int(match.group(1)) * UNIT_SECONDS[match.group(2)]
    if seconds > MAX_DURATION.total_seconds():
        raise OffsiteError(f"{option} {text!r} is longer than 100 years: use a shorter duration")
    return timedelta(seconds=seconds)


def parse_time(text: str, option: str = "time", now: Optional[datetime] = None) -> datetime:
    """An ISO 8601 time, a date, or a duration meaning that long ago -> UTC datetime."""
    value = str(text).strip()
    if DURATION.match(value) and not value.isdigit():
        return to_utc(now or utc_now()) - parse_duration(value, option)
    try:
        moment = to_utc(datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00")))
    except (ValueError, OverflowError):
        raise OffsiteError(
            f"{option} {text!r} is not a time: use ISO 8601 (2026-11-23T10:15:00Z or 2026-11-23), "
            "a backup id, or a duration ago such as 7d"
        ) from None
    if not EARLIEST <= moment <= LATEST:
        raise OffsiteError(f"{option} {text!r} is out of range: give a time between 1970 and 9999")
    return moment
