"""Backup ids sort by time; times and durations parse the documented ways."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ansible_collections.offsite.mongodb.plugins.module_utils.backup_id import (
    backup_time,
    check_backup_id,
    check_set_name,
    new_backup_id,
    parse_duration,
    parse_time,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError

WHEN = datetime(2026, 11, 23, 10, 15, 0, tzinfo=timezone.utc)


def test_backup_ids_are_utc_timestamps_that_sort_by_time():
    assert new_backup_id(WHEN) == "20261123T101500Z"
    assert new_backup_id(WHEN, "ab12") == "20261123T101500Z-ab12"
    later = new_backup_id(WHEN + timedelta(seconds=1))
    assert sorted([later, new_backup_id(WHEN)]) == [new_backup_id(WHEN), later]
    assert backup_time("20261123T101500Z-ab12") == WHEN
    other_zone = datetime(2026, 11, 23, 11, 15, tzinfo=timezone(timedelta(hours=1)))
    assert new_backup_id(other_zone) == "20261123T101500Z"


@pytest.mark.parametrize("bad", ["latest", "2026-11-23", "20261123T101500", "20261123T101500Z-UP", "../x"])
def test_malformed_backup_ids_are_refused(bad):
    with pytest.raises(OffsiteError, match="backup_id"):
        check_backup_id(bad)


@pytest.mark.parametrize("bad", ["", "a/b", "-x", "x" * 200, "a b"])
def test_set_names_must_be_one_key_segment(bad):
    with pytest.raises(OffsiteError, match="set_name"):
        check_set_name(bad)


def test_durations():
    assert parse_duration("7d") == timedelta(days=7)
    assert parse_duration("12h") == timedelta(hours=12)
    assert parse_duration("90") == timedelta(seconds=90)
    assert parse_duration("2w") == timedelta(weeks=2)
    with pytest.raises(OffsiteError, match="keep_within"):
        parse_duration("a week", "keep_within")


def test_times_accept_iso_dates_backup_ids_and_durations_ago():
    assert parse_time("2026-11-23T10:15:00Z") == WHEN
    assert parse_time("2026-11-23T11:15:00+01:00") == WHEN
    assert parse_time("2026-11-23") == datetime(2026, 11, 23, tzinfo=timezone.utc)
    assert parse_time("20261123T101500Z") == WHEN
    assert parse_time("1d", now=WHEN) == WHEN - timedelta(days=1)
    with pytest.raises(OffsiteError, match="before"):
        parse_time("yesterday", "before")
