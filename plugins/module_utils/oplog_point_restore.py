"""Point-in-time recovery from the catalog: choose the base backup and the slices that reach a target,
then replay the slices on top of the restored base, streamed, stopping exactly at the target.

``plan_recovery`` only reads the catalog: a target the archived oplog cannot reach is refused there,
before anything is written, naming the newest reachable point. ``replay_to_point`` streams one slice
at a time (download, decompress, apply in ``applyOps`` batches); each slice's SHA-256 is checked at
its end, so a damaged slice stops the replay with the point reached said.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional, Tuple

from ansible_collections.offsite.mongodb.plugins.module_utils.archive_format import MAX_OPLOG_DOCUMENT
from ansible_collections.offsite.mongodb.plugins.module_utils.compression import decompressing_reader
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.oplog_catalog import OplogCatalog
from ansible_collections.offsite.mongodb.plugins.module_utils.oplog_replay import OplogApplier
from ansible_collections.offsite.mongodb.plugins.module_utils.oplog_time import OplogTime
from ansible_collections.offsite.mongodb.plugins.module_utils.oplog_windows import (
    Plan,
    chains,
    gaps,
    plan_to,
    window_summaries,
    windows,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.restore_plan import RestorePlan
from ansible_collections.offsite.mongodb.plugins.module_utils.streams import Readable

READ_SIZE = 1 << 20


@dataclass
class PointReport:
    """What a replay to a point did."""

    plan: Plan
    reached: OplogTime
    slices_applied: List[str] = field(default_factory=list)
    entries_applied: int = 0
    namespaces: Dict[str, int] = field(default_factory=dict)
    duration_seconds: float = 0.0

    def to_result(self) -> Dict[str, Any]:
        return {
            "plan": self.plan.summary(),
            "backup_id": self.plan.base.backup_id,
            "target": self.plan.target.summary(),
            "reached": self.reached.summary(),
            "slices_applied": self.slices_applied,
            "entries_applied": self.entries_applied,
            "namespaces": dict(sorted(self.namespaces.items())),
            "duration_seconds": self.duration_seconds,
        }


def plan_recovery(oplog: OplogCatalog, target: Optional[OplogTime],
                  backup_id: Optional[str] = None) -> Tuple[Plan, Dict[str, Any]]:  # fmt: skip
    """(the plan to reach ``target`` (None: the newest point), the set's windows and gaps); refuses in one line."""
    listing = oplog.list()
    bases = oplog.bases(listing)
    if backup_id and backup_id != "latest":
        bases = [b for b in bases if b.backup_id == backup_id]
        if not bases:
            raise OffsiteError(
                f"backup {backup_id} of set {oplog.set_name} is not a complete backup with consistency oplog: "
                "point-in-time recovery needs one as its base (leave backup_id empty to choose automatically)"
            )
    all_chains = chains(oplog.slices(listing))
    markers = oplog.gaps(listing)
    overview = {
        "windows": window_summaries(windows(bases, all_chains)),
        "gaps": gaps(all_chains, markers),
    }
    return plan_to(target, bases, all_chains, markers), overview


def read_entries(stream: Readable) -> Iterator[bytes]:
    """The BSON documents of a decompressed slice, one by one."""
    buffer = bytearray()
    position = 0
    while True:
        chunk = stream.read(READ_SIZE)
        if not chunk:
            break
        if position:
            del buffer[:position]
            position = 0
        buffer += chunk
        while len(buffer) - position >= 4:
            length = int.from_bytes(buffer[position : position + 4], "little")
            if length < 5 or length > MAX_OPLOG_DOCUMENT:
                raise OffsiteError(
                    f"an oplog slice holds a document of impossible length {length}: it is damaged"
                )
            if len(buffer) - position < length:
                break
            yield bytes(buffer[position : position + length])
            position += length
    if len(buffer) - position:
        raise OffsiteError("an oplog slice ends inside a document: it is damaged")


def replay_to_point(client: Any, oplog: OplogCatalog, plan: Plan, restore: RestorePlan) -> PointReport:
    """Apply the plan's slices on top of its restored base, up to and including ``plan.target``."""
    clock = time.monotonic()
    applier = OplogApplier(client, restore, after=tuple(plan.base.end), limit=tuple(plan.target))
    report = PointReport(plan=plan, reached=plan.base.end)
    for piece in plan.slices:
        name = f"{piece.first.name}-{piece.last.name}"
        download = oplog.download(piece)
        source, _unused = decompressing_reader(download)
        more = True
        try:
            for raw in read_entries(source):
                if not applier.add(raw):
                    more = False
                    break
            applier.flush()
        except OffsiteError as exc:
            applier.settle()
            reached = OplogTime(*applier.last_applied) if applier.last_applied else plan.base.end
            raise OffsiteError(
                f"point-in-time replay stopped in slice {name}: {exc}; the database is at {reached.describe()}"
            ) from None
        report.slices_applied.append(name)
        if not more:
            break
    applier.flush()
    report.reached = OplogTime(*applier.reached) if applier.reached is not None else plan.base.end
    report.entries_applied = applier.applied
    report.namespaces = dict(applier.namespaces)
    report.duration_seconds = round(time.monotonic() - clock, 3)
    return report
