"""Retention policy: restic-style keep rules over generated catalogs spanning months."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from ansible_collections.offsite.mongodb.plugins.module_utils.backup_id import new_backup_id
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.retention import Candidate, Policy, apply_policy

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


def catalog(times, complete=True):
    return [Candidate(new_backup_id(t), t, complete, t) for t in times]


def hourly(days, start=NOW):
    return [start - timedelta(hours=h) for h in range(days * 24)]


def kept_ids(decisions):
    return {d.backup_id for d in decisions if d.keep}


def newest_per_bucket(backups, bucket, count):
    """Reference: the newest backup of each of the ``count`` newest buckets."""
    newest = {}
    for cand in sorted(backups, key=lambda c: c.time, reverse=True):
        newest.setdefault(bucket(cand.time), cand.backup_id)
    return {newest[key] for key in sorted(newest, reverse=True)[:count]}


def test_keep_last_keeps_the_newest_n():
    backups = catalog(hourly(3))
    decisions = apply_policy(backups, Policy(keep_last=5), NOW)
    assert kept_ids(decisions) == {c.backup_id for c in backups[:5]}
    assert [d.backup_id for d in decisions] == [c.backup_id for c in backups]  # newest first
    assert sum(not d.keep for d in decisions) == len(backups) - 5


def test_keep_daily_keeps_the_last_backup_of_each_of_the_last_days():
    backups = catalog(hourly(90))
    decisions = apply_policy(backups, Policy(keep_daily=7), NOW)
    expected = {new_backup_id(datetime(2026, 11, day, 23, tzinfo=timezone.utc)) for day in range(17, 23)}
    expected.add(new_backup_id(NOW))  # today's newest
    assert kept_ids(decisions) == expected
    reasons = {d.backup_id: d.reasons for d in decisions}
    assert (
        "keep_daily (2026-11-20)" in reasons[new_backup_id(datetime(2026, 11, 20, 23, tzinfo=timezone.utc))]
    )


@pytest.mark.parametrize("seed", range(5))
def test_combined_rules_keep_the_union_of_what_each_rule_keeps(seed):
    rng = random.Random(seed)
    times = sorted(
        {NOW - timedelta(minutes=rng.randrange(0, 400 * 24 * 60)) for _unused in range(400)}, reverse=True
    )
    backups = catalog(times)
    policy = Policy(keep_last=3, keep_hourly=5, keep_daily=10, keep_weekly=6, keep_monthly=8, keep_yearly=2)
    decisions = apply_policy(backups, policy, NOW)
    expected = {c.backup_id for c in backups[:3]}
    expected |= newest_per_bucket(backups, lambda t: (t.year, t.month, t.day, t.hour), 5)
    expected |= newest_per_bucket(backups, lambda t: (t.year, t.month, t.day), 10)
    expected |= newest_per_bucket(backups, lambda t: tuple(t.isocalendar())[:2], 6)
    expected |= newest_per_bucket(backups, lambda t: (t.year, t.month), 8)
    expected |= newest_per_bucket(backups, lambda t: t.year, 2)
    assert kept_ids(decisions) == expected
    for decision in decisions:
        if not decision.keep:
            assert decision.reasons == ["not kept by any keep_* rule"]


def test_rule_with_counts_left_also_keeps_the_oldest_backup_like_restic():
    day = datetime(2026, 11, 1, tzinfo=timezone.utc)
    backups = catalog([day + timedelta(hours=20), day + timedelta(hours=10), day + timedelta(hours=1)])
    decisions = apply_policy(backups, Policy(keep_daily=5), NOW)
    keep = [d.keep for d in decisions]
    assert keep == [True, False, True]


def test_keep_within_is_relative_to_the_newest_backup():
    newest = NOW - timedelta(days=30)  # the newest backup is a month old: keep_within counts back from it
    backups = catalog([newest - timedelta(days=d) for d in range(20)])
    decisions = apply_policy(backups, Policy(keep_within=timedelta(days=7)), NOW)
    assert kept_ids(decisions) == {c.backup_id for c in backups[:7]}
    assert decisions[3].reasons[0].startswith("keep_within")


def test_unlimited_counts_keep_one_per_period_forever():
    backups = catalog(hourly(60))
    decisions = apply_policy(backups, Policy(keep_daily=-1), NOW)
    expected = newest_per_bucket(backups, lambda t: t.date(), 1000) | {
        backups[-1].backup_id
    }  # restic keeps the oldest
    assert kept_ids(decisions) == expected
    assert len(expected) == len({c.time.date() for c in backups}) + 1


def test_newest_complete_backup_is_always_kept_and_says_so():
    backups = catalog([NOW - timedelta(days=400)])
    decisions = apply_policy(backups, Policy(keep_within=timedelta(hours=1)), NOW)
    assert decisions[0].keep
    assert decisions[0].reasons[0] == "newest complete backup (always kept)"


def test_incomplete_backups_older_than_the_newest_complete_are_removed():
    complete = catalog([NOW - timedelta(days=2), NOW - timedelta(days=5)])
    older = catalog([NOW - timedelta(days=3)], complete=False)
    newer_fresh = [Candidate(new_backup_id(NOW - timedelta(hours=1)), NOW - timedelta(hours=1), False, NOW)]
    newer_stale = [
        Candidate(
            new_backup_id(NOW - timedelta(days=1)), NOW - timedelta(days=1), False, NOW - timedelta(days=1)
        )
    ]
    decisions = {
        d.backup_id: d
        for d in apply_policy(
            complete + older + newer_fresh + newer_stale, Policy(keep_last=10), NOW, timedelta(hours=12)
        )
    }
    assert not decisions[older[0].backup_id].keep
    assert "older than the newest complete backup" in decisions[older[0].backup_id].reasons[0]
    assert decisions[newer_fresh[0].backup_id].keep
    assert not decisions[newer_stale[0].backup_id].keep
    assert "abandoned" in decisions[newer_stale[0].backup_id].reasons[0]
    assert all(decisions[c.backup_id].keep for c in complete)


def test_incomplete_backups_stay_when_nothing_is_complete_and_they_are_fresh():
    backups = catalog([NOW - timedelta(minutes=5)], complete=False)
    assert apply_policy(backups, Policy(keep_last=1), NOW, timedelta(days=1))[0].keep


@pytest.mark.parametrize(
    "policy",
    [Policy(), Policy(keep_last=0), Policy(keep_daily=-2), Policy(keep_within=timedelta(0))],
)
def test_a_policy_that_keeps_nothing_or_is_invalid_is_refused(policy):
    with pytest.raises(OffsiteError):
        apply_policy(catalog([NOW]), policy, NOW)
