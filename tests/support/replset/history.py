"""Before-images of every document change, so a snapshot read can see the data as of a past cluster time.

MongoDB keeps ``minSnapshotHistoryWindowInSeconds`` (default 300) of history for reads with
``readConcern: {level: "snapshot", atClusterTime}``; older times fail with SnapshotTooOld (239)
(manual, "Read Concern "snapshot"", "minSnapshotHistoryWindowInSeconds"). Here each change to a
document records (ts, namespace, _id key, the document before it or ``None``); reading at ``T``
starts from today's documents and undoes, newest first, the changes made after ``T``.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Deque, Dict, Optional, Tuple

from bson.timestamp import Timestamp

Change = Tuple[Timestamp, str, bytes, Optional[bytes]]


class History:
    def __init__(self, window_seconds: int = 300) -> None:
        self.window_seconds = window_seconds
        self.changes: Deque[Change] = deque()
        self.floor = Timestamp(0, 0)  # the newest time whose changes were forgotten

    def record(self, ts: Timestamp, ns: str, key: bytes, before: Optional[bytes]) -> None:
        self.changes.append((ts, ns, key, before))
        horizon = int(time.time()) - self.window_seconds
        while self.changes and self.changes[0][0].time < horizon:
            self.floor = self.changes.popleft()[0]

    def docs_at(self, ns: str, current: Dict[bytes, bytes], at: Timestamp) -> Dict[bytes, bytes]:
        """The documents of ``ns`` as they were at ``at`` (``current`` is not changed)."""
        docs = dict(current)
        for ts, changed_ns, key, before in reversed(self.changes):
            if ts <= at:
                break
            if changed_ns != ns:
                continue
            if before is None:
                docs.pop(key, None)
            else:
                docs[key] = before
        return docs
