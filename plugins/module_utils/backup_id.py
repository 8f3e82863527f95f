"""Backup ids and set names: the two key segments of the catalog that operators type.

A backup id is the UTC time the backup started, ``YYYYMMDDTHHMMSSZ``, with an optional short suffix
that keeps two backups of the same second apart; ids therefore sort by time. An id must name a real
moment (no month 13, no hour 25).
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Optional

from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.times import parse_time, to_utc, utc_now

ID_FORMAT = "%Y%m%dT%H%M%SZ"
BACKUP_ID = re.compile(r"^(\d{8}T\d{6}Z)(-[a-z0-9]{1,16})?$")
SET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def new_backup_id(when: Optional[datetime] = None, suffix: Optional[str] = None) -> str:
    """The backup id for a backup taken at ``when`` (default now): ``YYYYMMDDTHHMMSSZ[-suffix]``."""
    text = to_utc(when or utc_now()).strftime(ID_FORMAT)
    return f"{text}-{suffix}" if suffix else text


def _moment(backup_id: str) -> Optional[datetime]:
    match = BACKUP_ID.match(str(backup_id))
    if not match:
        return None
    try:
        return datetime.strptime(match.group(1), ID_FORMAT).replace(tzinfo=timezone.utc)
    except ValueError:  # a well-shaped id of an impossible moment (month 13, hour 25)
        return None


def is_backup_id(text: str) -> bool:
    """Whether ``text`` is a well-formed backup id of a real moment."""
    return _moment(text) is not None


def check_backup_id(backup_id: str) -> str:
    """``backup_id`` when it is well formed and names a real moment, else a one-line error."""
    if _moment(backup_id) is None:
        raise OffsiteError(
            f"backup_id {backup_id!r} is not a backup id: use the form 20261123T101500Z "
            "(a real UTC time, optional -suffix of lowercase letters and digits), as the list playbook shows"
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
    return _moment(check_backup_id(backup_id))


def parse_catalog_time(text: str, option: str = "time") -> datetime:
    """A time as the catalog options take it: a backup id, or anything ``times.parse_time`` reads."""
    value = str(text).strip()
    if BACKUP_ID.match(value):
        return backup_time(value)
    return parse_time(value, option)
