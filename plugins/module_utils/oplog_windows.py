"""What the archived oplog makes recoverable: unbroken chains of slices, windows per base backup, gaps,
the plan to reach one point, and which slices retention may delete.

Pure logic over ``Slice``/``Gap`` values and base backups (a backup taken with ``consistency: oplog``
is consistent at its oplog end ``consistency.oplog.last``). A base backup ending at ``L`` reaches
every point from ``L`` to the end of the chain that covers ``L``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.oplog_slices import Gap, Slice
from ansible_collections.offsite.mongodb.plugins.module_utils.oplog_time import (
    MAX_INC,
    OplogTime,
    from_record,
)


@dataclass(frozen=True)
class Base:
    """A complete ``consistency: oplog`` backup and the point it is consistent at."""

    backup_id: str
    end: OplogTime


@dataclass
class Chain:
    """Slices that follow each other without a break: every entry in ``(start, last]`` is archived."""

    start: OplogTime
    last: OplogTime
    slices: List[Slice] = field(default_factory=list)

    def covers(self, point: OplogTime) -> bool:
        return self.start <= point <= self.last


@dataclass
class Plan:
    """How to reach ``target``: restore ``base``, then replay ``slices`` from ``base.end`` up to ``target``."""

    target: OplogTime
    base: Base
    slices: List[Slice]
    reach: OplogTime

    def summary(self) -> Dict[str, Any]:
        return {
            "target": self.target.summary(),
            "backup_id": self.base.backup_id,
            "base_end": self.base.end.summary(),
            "slices": [f"{s.first.name}-{s.last.name}" for s in self.slices],
            "entries_at_most": sum(s.count for s in self.slices),
            "reachable_until": self.reach.summary(),
        }


def base_from_manifest(manifest: Mapping[str, Any]) -> Optional[Base]:
    """The base a backup manifest describes, or None when it has no oplog end (not a PITR base)."""
    consistency = manifest.get("consistency") or {}
    if consistency.get("mode") != "oplog" or not isinstance(consistency.get("oplog"), Mapping):
        return None
    end = from_record(consistency["oplog"].get("last"))
    return Base(str(manifest["backup_id"]), end) if end is not None else None


def chains(slices: Iterable[Slice]) -> List[Chain]:
    """The unbroken chains, oldest first (overlapping slices join a chain: replay skips repeats)."""
    result: List[Chain] = []
    for piece in sorted(slices, key=lambda s: (s.first, s.last)):
        if result and piece.start <= result[-1].last:
            result[-1].last = max(result[-1].last, piece.last)
            result[-1].slices.append(piece)
        else:
            result.append(Chain(piece.start, piece.last, [piece]))
    return result


def chain_at(all_chains: Sequence[Chain], point: OplogTime) -> Optional[Chain]:
    return next((c for c in reversed(all_chains) if c.covers(point)), None)


def reach_of(all_chains: Sequence[Chain], base: Base) -> OplogTime:
    """The newest point a base reaches (its own end when no chain covers it)."""
    chain = chain_at(all_chains, base.end)
    return chain.last if chain is not None else base.end


def windows(bases: Iterable[Base], all_chains: Sequence[Chain]) -> List[Tuple[OplogTime, OplogTime]]:
    """Recoverable windows ``(from, to)``, oldest first, overlapping ones merged."""
    spans = sorted((b.end, reach_of(all_chains, b)) for b in bases)
    merged: List[Tuple[OplogTime, OplogTime]] = []
    for low, high in spans:
        if merged and low <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return merged


def gaps(all_chains: Sequence[Chain], markers: Iterable[Gap]) -> List[Dict[str, Any]]:
    """Breaks in the archived oplog: recorded markers and holes between chains, oldest first."""
    recorded = {marker.after: marker for marker in markers}
    found: Dict[OplogTime, Dict[str, Any]] = {}
    for before, after in zip(all_chains, all_chains[1:]):
        marker = recorded.pop(before.last, None)
        hole = (
            marker.summary()
            if marker
            else {"from": before.last.summary(), "reason": "missing", "detected": None}
        )
        found[before.last] = {
            **hole,
            "to": after.start.summary(),
        }  # the marker's break, up to where archiving resumed
    for marker in recorded.values():
        found[marker.after] = marker.summary()
    return [found[key] for key in sorted(found)]


def window_summaries(windows_found: Sequence[Tuple[OplogTime, OplogTime]]) -> List[Dict[str, Any]]:
    return [{"from": low.summary(), "to": high.summary()} for low, high in windows_found]


def plan_to(target: Optional[OplogTime], bases: Sequence[Base], all_chains: Sequence[Chain],
            markers: Sequence[Gap] = ()) -> Plan:  # fmt: skip
    """The plan to reach ``target`` (None: the newest reachable point), or a one-line refusal."""
    if not bases:
        raise OffsiteError(
            "no complete backup taken with consistency oplog: point-in-time recovery needs one as its base; "
            "take a backup with backup_consistency=oplog"
        )
    reaches = {b: reach_of(all_chains, b) for b in bases}
    if target is None:
        base = max(bases, key=lambda b: (reaches[b], b.end))
        target = reaches[base]
    for base in sorted(bases, key=lambda b: b.end, reverse=True):
        if base.end <= target <= reaches[base]:
            chain = chain_at(all_chains, base.end)
            pieces = (
                []
                if chain is None or target == base.end
                else [s for s in chain.slices if s.last > base.end and s.first <= target]
            )
            return Plan(target, base, pieces, reaches[base])
    raise OffsiteError(refusal(target, bases, reaches, all_chains, markers))


def refusal(target: OplogTime, bases: Sequence[Base], reaches: Mapping[Base, OplogTime],
            all_chains: Sequence[Chain], markers: Sequence[Gap]) -> str:  # fmt: skip
    """Why ``target`` cannot be reached, naming the newest point that can (nothing was written)."""
    asked = target.describe() if target.inc != MAX_INC else target.moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    before = [reaches[b] for b in bases if b.end <= target]
    newest = max(reaches.values())
    if not before:
        oldest = min(b.end for b in bases)
        return (
            f"cannot recover to {asked}: no base backup is consistent at or before it (the oldest ends at "
            f"{oldest.describe()}); nothing was written"
        )
    best = max(before)
    hole = next((g for g in gaps(all_chains, markers) if best <= from_summary(g["from"]) < target), None)
    if hole is not None:
        why = f"the archived oplog has a gap from {hole['from']['time']} to {hole['to']['time']} ({hole['reason']})"
    elif target > newest:
        why = f"the oplog is archived only up to {newest.describe()} (run the oplog archiver, or wait for it)"
    else:
        why = "no archived oplog continues from a base backup to it"
    return (
        f"cannot recover to {asked}: {why}; the newest reachable point before it is {best.describe()}, "
        f"the newest overall {newest.describe()}; nothing was written"
    )


def from_summary(summary: Mapping[str, Any]) -> OplogTime:
    return OplogTime(int(summary["t"]), int(summary["i"]))


def slices_to_keep(slices: Sequence[Slice], kept_bases: Sequence[Base]) -> Tuple[List[Slice], List[Slice]]:
    """(keep, delete): every slice ending after the oldest kept base's end stays, and the newest always
    does (it is where the archiver goes on); older slices go."""
    if not slices:
        return [], []
    newest = max(slices, key=lambda s: s.last)
    oldest_end = min((b.end for b in kept_bases), default=None)
    keep = [s for s in slices if s is newest or (oldest_end is not None and s.last > oldest_end)]
    delete = [s for s in slices if all(s is not k for k in keep)]
    return keep, delete


def gaps_to_delete(markers: Sequence[Gap], kept_bases: Sequence[Base]) -> List[Gap]:
    """Gap markers wholly before the oldest kept base's end say nothing any more."""
    oldest_end = min((b.end for b in kept_bases), default=None)
    if oldest_end is None:
        return []
    return [g for g in markers if g.resume <= oldest_end]
