"""Retention policy: backups in, keep/delete decisions with reasons out (pure; no I/O).

Complete backups are judged the way restic's ``forget`` judges snapshots: newest first, each
``keep_*`` rule keeps the newest backup of each of its last N periods (hour, day, ISO week, month,
year; ``keep_last`` counts backups), a rule with counts left over also keeps the oldest backup,
``keep_within`` keeps everything within that duration of the newest backup, and a backup is kept
when any rule keeps it. ``-1`` means unlimited. On top of that the newest complete backup is always
kept; incomplete backups older than the newest complete one are removed, and newer incomplete
ones once they have been abandoned longer than ``abandoned_after``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable, List, Optional, Sequence, Tuple

from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.times import format_time, to_utc

RULES = ("keep_last", "keep_hourly", "keep_daily", "keep_weekly", "keep_monthly", "keep_yearly")


@dataclass(frozen=True)
class Policy:
    """How many backups each rule keeps (None or 0: rule off; -1: unlimited) and ``keep_within``."""

    keep_last: Optional[int] = None
    keep_hourly: Optional[int] = None
    keep_daily: Optional[int] = None
    keep_weekly: Optional[int] = None
    keep_monthly: Optional[int] = None
    keep_yearly: Optional[int] = None
    keep_within: Optional[timedelta] = None

    def check(self) -> Policy:
        """``self`` when usable, else a one-line error (a policy that keeps nothing is refused)."""
        for rule in RULES:
            value = getattr(self, rule)
            if value is not None and value < -1:
                raise OffsiteError(f"{rule} must be a count of backups (or -1 for unlimited), got {value}")
        if self.keep_within is not None and self.keep_within <= timedelta(0):
            raise OffsiteError("keep_within must be a positive duration such as 7d")
        if self.empty():
            raise OffsiteError(
                "prune needs a retention policy: set at least one of keep_last, keep_hourly, keep_daily, "
                "keep_weekly, keep_monthly, keep_yearly or keep_within"
            )
        return self

    def empty(self) -> bool:
        return not any(getattr(self, rule) for rule in RULES) and not self.keep_within


@dataclass(frozen=True)
class Candidate:
    """One backup as retention sees it: its id, time, completeness and last write."""

    backup_id: str
    time: datetime
    complete: bool = True
    last_modified: Optional[datetime] = None


@dataclass
class Decision:
    """Keep or remove one backup, and why (every rule that kept it, or the rule that removed it)."""

    backup_id: str
    keep: bool
    reasons: List[str] = field(default_factory=list)


def _period(name: str) -> Callable[[datetime, int], object]:
    buckets = {
        "keep_last": lambda t, nr: nr,
        "keep_hourly": lambda t, nr: (t.year, t.month, t.day, t.hour),
        "keep_daily": lambda t, nr: (t.year, t.month, t.day),
        "keep_weekly": lambda t, nr: tuple(t.isocalendar())[:2],
        "keep_monthly": lambda t, nr: (t.year, t.month),
        "keep_yearly": lambda t, nr: t.year,
    }
    return buckets[name]


def _label(name: str, moment: datetime) -> str:
    formats = {
        "keep_last": "keep_last",
        "keep_hourly": "keep_hourly (%Y-%m-%d %H:00)",
        "keep_daily": "keep_daily (%Y-%m-%d)",
        "keep_weekly": "keep_weekly (%G-W%V)",
        "keep_monthly": "keep_monthly (%Y-%m)",
        "keep_yearly": "keep_yearly (%Y)",
    }
    return moment.strftime(formats[name])


def apply_policy(
    candidates: Sequence[Candidate],
    policy: Policy,
    now: datetime,
    abandoned_after: Optional[timedelta] = None,
) -> List[Decision]:
    """A decision for every candidate, newest first."""
    policy.check()
    ordered = sorted(candidates, key=lambda c: (to_utc(c.time), c.backup_id), reverse=True)
    complete = [c for c in ordered if c.complete]
    decisions = {c.backup_id: d for c, d in zip(complete, _forget(complete, policy))}
    newest = complete[0] if complete else None
    if newest is not None:
        decisions[newest.backup_id].keep = True
        decisions[newest.backup_id].reasons.insert(0, "newest complete backup (always kept)")
    for cand in ordered:
        if not cand.complete:
            decisions[cand.backup_id] = _incomplete(cand, newest, to_utc(now), abandoned_after)
    return [decisions[c.backup_id] for c in ordered]


def _forget(backups: Sequence[Candidate], policy: Policy) -> List[Decision]:
    """restic's forget over complete backups sorted newest first."""
    counters: List[Tuple[str, Callable[[datetime, int], object]]] = [
        (rule, _period(rule)) for rule in RULES if getattr(policy, rule)
    ]
    remaining = {rule: getattr(policy, rule) for rule, _bucket in counters}
    last: dict = {rule: object() for rule, _bucket in counters}
    within_start = None
    if backups and policy.keep_within:
        within_start = to_utc(backups[0].time) - policy.keep_within
    decisions = []
    for nr, cand in enumerate(backups):
        moment = to_utc(cand.time)
        reasons = []
        if within_start is not None and moment > within_start:
            reasons.append(f"keep_within ({format_time(within_start)} or later)")
        for rule, bucket in counters:
            if remaining[rule] == 0:
                continue
            value = bucket(moment, nr)
            if (
                value != last[rule] or nr == len(backups) - 1
            ):  # restic also keeps the oldest while counts remain
                last[rule] = value
                if remaining[rule] > 0:
                    remaining[rule] -= 1
                reasons.append(_label(rule, moment))
        if reasons:
            decisions.append(Decision(cand.backup_id, True, reasons))
        else:
            decisions.append(Decision(cand.backup_id, False, ["not kept by any keep_* rule"]))
    return decisions


def _incomplete(
    cand: Candidate, newest: Optional[Candidate], now: datetime, abandoned_after: Optional[timedelta]
) -> Decision:
    if newest is not None and to_utc(cand.time) < to_utc(newest.time):
        return Decision(
            cand.backup_id, False, [f"incomplete, older than the newest complete backup {newest.backup_id}"]
        )
    touched = to_utc(cand.last_modified or cand.time)
    if abandoned_after is not None and now - touched > abandoned_after:
        return Decision(
            cand.backup_id, False, [f"incomplete, untouched since {format_time(touched)} (abandoned)"]
        )
    return Decision(
        cand.backup_id, True, ["incomplete, may still be in progress (newer than the newest complete)"]
    )
