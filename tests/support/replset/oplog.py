"""``local.oplog.rs``: a capped, ordered list of raw oplog entries.

Entry shape (mongo-tools ``common/db/oplog.go`` type ``Oplog``; server
``src/mongo/db/repl/oplog_entry.idl``; replica-set-facts.md §3): ``op, ns, ui, o, o2, ts, t, v,
wall`` with ``ts`` a Timestamp, ``t`` and ``v`` NumberLong (v is 2), ``ui`` the collection's UUID
(Binary subtype 4), ``wall`` a Date. Like a capped collection, the oldest entries go once the
total size passes the cap (manual, "Change the Size of the Oplog"); the newest entry always stays.
"""

from __future__ import annotations

import bisect
import uuid
from collections import deque
from typing import Any, Deque, Dict, List, Optional

import bson
from bson.binary import Binary, UuidRepresentation
from bson.int64 import Int64
from bson.timestamp import Timestamp

from .clock import TERM, ClusterClock
from .ordering import sort_key

NAMESPACE = "local.oplog.rs"


class Oplog:
    """Append-only entries in commit order; ``cap_bytes`` bounds the sum of their BSON sizes."""

    def __init__(self, clock: ClusterClock, cap_bytes: int) -> None:
        self.clock = clock
        self.cap_bytes = cap_bytes
        self.entries: Deque[bytes] = deque()
        self.keys: Deque[tuple] = deque()  # sort keys of each entry's ts, for bisecting
        self.size = 0
        self.uuid = Binary.from_uuid(uuid.uuid4(), UuidRepresentation.STANDARD)
        self.last_dropped: Optional[tuple] = None  # sort key of the newest entry the cap removed
        self.term = int(TERM)  # rises only when a test simulates a rollback (``rollback``)

    def append(
        self,
        op: str,
        ns: str,
        o: Dict[str, Any],
        o2: Optional[Dict[str, Any]] = None,
        ui: Optional[Binary] = None,
    ) -> Timestamp:
        """Record one write at the next cluster time; returns that time."""
        ts = self.clock.tick()
        entry: Dict[str, Any] = {"op": op, "ns": ns}
        if ui is not None:
            entry["ui"] = ui
        entry["o"] = o
        if o2 is not None:
            entry["o2"] = o2
        entry.update(ts=ts, t=Int64(self.term), v=Int64(2), wall=self.clock.wall())
        raw = bson.encode(entry)
        self.entries.append(raw)
        self.keys.append(sort_key(ts))
        self.size += len(raw)
        while self.size > self.cap_bytes and len(self.entries) > 1:
            self.size -= len(self.entries.popleft())
            self.last_dropped = self.keys.popleft()
        return ts

    def rollback(self, count: int) -> int:
        """Simulate a rollback after an election: the newest ``count`` entries go, later writes get a new term.

        Only the oplog changes (the documents stay): enough for tools that must notice the lost entries.
        """
        removed = 0
        while removed < count and len(self.entries) > 1:
            self.size -= len(self.entries.pop())
            self.keys.pop()
            removed += 1
        self.term += 1
        return removed

    def all(self) -> List[bytes]:
        return list(self.entries)

    def after(self, ts: Timestamp) -> List[bytes]:
        """Entries newer than ``ts``, oldest first (what a tailable cursor reads next)."""
        start = bisect.bisect_right(list(self.keys), sort_key(ts))
        return list(self.entries)[start:]

    def oldest(self) -> Optional[Timestamp]:
        return bson.decode(self.entries[0])["ts"] if self.entries else None

    def newest(self) -> Optional[Timestamp]:
        return bson.decode(self.entries[-1])["ts"] if self.entries else None
