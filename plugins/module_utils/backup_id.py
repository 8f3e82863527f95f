"""Backup ids and the times operators type: ids sort by time, times and durations parse one way."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Optional

from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError

ID_FORMAT = "%Y%m%dT%H%M%SZ"
# A UTC timestamp, optionally followed by a short suffix that keeps two backups of the same second apart.
BACKUP_ID = re.compile(r"^(\d{8}T\d{6}Z)(-[a-z0-9]{1,16})?$")
SET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
DURATION = re.compile(r"^\s*(\d+)\s*([smhdwy]?)\s*$")
UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "y": 365 * 86400}


def utc_now() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(timezone.utc)


def new_backup_id(when: Optional[datetime] = None, suffix: Optional[str] = None) -> str:
    """The backup id for a backup taken at ``when`` (default now): ``YYYYMMDDTHHMMSSZ[-suffix]``."""
    moment = to_utc(when or utc_now())
    text = moment.strftime(ID_FORMAT)
    return f"{text}-{suffix}" if suffix else text


def check_backup_id(backup_id: str) -> str:
    """``backup_id`` when it is well formed, else a one-line error."""
    if not BACKUP_ID.match(str(backup_id)):
        raise OffsiteError(
            f"backup_id {backup_id!r} is not a backup id: use the form 20261123T101500Z "
            "(UTC time, optional -suffix of lowercase letters and digits), as listed by mode=list"
        )
    return backup_id


def check_set_name(set_name: str) -> str:
    """``set_name`` when it is safe as one key segment, else a one-line error."""
    if not SET_NAME.match(str(set_name or "")):
        raise OffsiteError(
            f"set_name {set_name!r} is not usable: use 1-128 letters, digits, '.', '_' or '-' "
            "(no '/'), for example the replica set name"
        )
    return set_name


def backup_time(backup_id: str) -> datetime:
    """The UTC time a backup id encodes."""
    match = BACKUP_ID.match(str(backup_id))
    if not match:
        raise OffsiteError(f"backup_id {backup_id!r} is not a backup id: use the form 20261123T101500Z")
    return datetime.strptime(match.group(1), ID_FORMAT).replace(tzinfo=timezone.utc)


def to_utc(moment: datetime) -> datetime:
    """A timezone-aware UTC datetime (naive datetimes are taken as UTC)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def format_time(moment: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``: ``2026-11-23T10:15:00Z``."""
    return to_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_duration(text: str, option: str = "duration") -> timedelta:
    """``90s``, ``15m``, ``12h``, ``7d``, ``2w``, ``1y`` (or plain seconds) -> ``timedelta``."""
    match = DURATION.match(str(text))
    if not match:
        raise OffsiteError(
            f"{option} {text!r} is not a duration: use a number with s, m, h, d, w or y, e.g. 7d"
        )
    return timedelta(seconds=int(match.group(1)) * UNIT_SECONDS[match.group(2)])


def parse_time(text: str, option: str = "time", now: Optional[datetime] = None) -> datetime:
    """An ISO 8601 time, a date, a backup id, or a duration meaning that long ago -> UTC datetime."""
    value = str(text).strip()
    if BACKUP_ID.match(value):
        return backup_time(value)
    if DURATION.match(value) and not value.isdigit():
        return to_utc(now or utc_now()) - parse_duration(value, option)
    try:
        return to_utc(datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00")))
    except ValueError:
        raise OffsiteError(
            f"{option} {text!r} is not a time: use ISO 8601 (2026-11-23T10:15:00Z or 2026-11-23), "
            "a backup id, or a duration ago such as 7d"
        ) from None
