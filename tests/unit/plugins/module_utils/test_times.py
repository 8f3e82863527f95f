"""Times and durations as operators type them, and the UTC text results show."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.times import (
    format_time,
    parse_duration,
    parse_time,
    precise_time,
    to_utc,
    utc_now,
)

WHEN = datetime(2026, 11, 23, 10, 15, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("text", "duration"),
    [
        ("7d", timedelta(days=7)),
        ("12h", timedelta(hours=12)),
        ("15m", timedelta(minutes=15)),
        ("90s", timedelta(seconds=90)),
        ("90", timedelta(seconds=90)),
        (" 2w ", timedelta(weeks=2)),
        ("1y", timedelta(days=365)),
        ("100y", timedelta(days=36500)),
        ("0", timedelta(0)),
    ],
)
def test_durations(text, duration):
    assert parse_duration(text) == duration


@pytest.mark.parametrize("text", ["a week", "7 days", "-1d", "1.5h", "", "7D"])
def test_malformed_durations_name_the_option(text):
    with pytest.raises(OffsiteError, match=r"^keep_within .* is not a duration: use a number with s, m, h"):
        parse_duration(text, "keep_within")


@pytest.mark.parametrize("text", ["101y", "36501d", "999999999999", "999999999999y"])
def test_durations_longer_than_a_century_are_refused(text):
    with pytest.raises(OffsiteError, match="longer than 100 years"):
        parse_duration(text, "lease")


def test_times_accept_iso_dates_and_durations_ago():
    assert parse_time("2026-11-23T10:15:00Z") == WHEN
    assert parse_time("2026-11-23T10:15:00z") == WHEN
    assert parse_time("2026-11-23T11:15:00+01:00") == WHEN
    assert parse_time("2026-11-23") == datetime(2026, 11, 23, tzinfo=timezone.utc)
    assert parse_time("2026-11-23T10:15:00") == WHEN  # naive means UTC
    assert parse_time("1d", now=WHEN) == WHEN - timedelta(days=1)
    assert parse_time("2w", now=WHEN) == WHEN - timedelta(weeks=2)


def test_a_plain_number_is_not_taken_as_seconds_ago():
    with pytest.raises(OffsiteError, match="is not a time"):
        parse_time("3600", "before")


@pytest.mark.parametrize("text", ["yesterday", "2026-13-01", "2026-11-23T25:00:00Z", ""])
def test_bad_times_name_the_option(text):
    with pytest.raises(OffsiteError, match=r"^before .* is not a time: use ISO 8601"):
        parse_time(text, "before")


def test_times_before_1970_are_out_of_range():
    with pytest.raises(OffsiteError, match="out of range"):
        parse_time("1969-12-31T23:59:59Z", "after")
    assert parse_time("1970-01-01T00:00:00Z") == datetime(1970, 1, 1, tzinfo=timezone.utc)


def test_text_is_utc_with_z():
    plus_two = datetime(2026, 11, 23, 12, 15, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    assert format_time(plus_two) == "2026-11-23T10:15:00Z"
    assert precise_time(plus_two) == "2026-11-23T10:15:00.123456Z"
    assert format_time(datetime(2026, 11, 23, 10, 15)) == "2026-11-23T10:15:00Z"
    assert parse_time(format_time(plus_two)) == WHEN


def test_now_and_conversions_are_timezone_aware_utc():
    now = utc_now()
    assert now.utcoffset() == timedelta(0)
    assert to_utc(datetime(2026, 1, 1)).tzinfo == timezone.utc
    assert to_utc(datetime(2026, 1, 1, 1, tzinfo=timezone(timedelta(hours=1)))) == datetime(
        2026, 1, 1, tzinfo=timezone.utc
    )
    assert precise_time().endswith("Z")
