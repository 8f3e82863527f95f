"""Backup ids sort by time, name real moments, and set names are single key segments."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ansible_collections.offsite.mongodb.plugins.module_utils.backup_id import (
    backup_time,
    check_backup_id,
    check_set_name,
    is_backup_id,
    new_backup_id,
    parse_catalog_time,
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
    assert not is_backup_id(bad)
    with pytest.raises(OffsiteError, match="backup_id"):
        check_backup_id(bad)


@pytest.mark.parametrize(
    "impossible",
    ["20261323T101500Z", "20261123T251500Z", "20260230T000000Z", "20261123T106000Z", "20261100T000000Z-a"],
    ids=["month-13", "hour-25", "feb-30", "minute-60", "day-0"],
)
def test_well_shaped_ids_of_impossible_moments_are_refused(impossible):
    assert not is_backup_id(impossible)
    with pytest.raises(OffsiteError, match="a real UTC time"):
        check_backup_id(impossible)
    with pytest.raises(OffsiteError, match="is not a backup id"):
        backup_time(impossible)


def test_leap_day_and_suffixed_ids_are_real():
    assert is_backup_id("20280229T235959Z")
    assert is_backup_id("20261123T101500Z-a1b2c3")
    assert not is_backup_id("20270229T000000Z")  # 2027 is no leap year


@pytest.mark.parametrize("bad", ["", "a/b", "-x", "x" * 200, "a b", None])
def test_set_names_must_be_one_key_segment(bad):
    with pytest.raises(OffsiteError, match="set_name"):
        check_set_name(bad)


@pytest.mark.parametrize("good", ["rs0", "shard-01.prod", "A_b", "x" * 128])
def test_usable_set_names_pass_unchanged(good):
    assert check_set_name(good) == good


def test_catalog_times_take_backup_ids_and_everything_parse_time_takes():
    assert parse_catalog_time("20261123T101500Z") == WHEN
    assert parse_catalog_time(" 20261123T101500Z-x ") == WHEN
    assert parse_catalog_time("2026-11-23T10:15:00Z") == WHEN
    with pytest.raises(OffsiteError, match="is not a backup id"):
        parse_catalog_time("20261323T101500Z", "before")
    with pytest.raises(OffsiteError, match=r"^before 'soon' is not a time"):
        parse_catalog_time("soon", "before")
