"""The set's cluster time: a Timestamp (seconds, increment) that ticks once per write.

MongoDB's hybrid logical clock (manual, "Causal Consistency"; server ``logical_clock.h``): the
seconds follow the wall clock, the increment orders writes within a second. Replies carry it as
``$clusterTime: {clusterTime, signature}`` and ``operationTime`` (replica-set-facts.md §1).
"""

from __future__ import annotations

import datetime
import time

from bson.binary import Binary
from bson.int64 import Int64
from bson.timestamp import Timestamp

TERM = Int64(1)  # no elections here, so the term never changes


class ClusterClock:
    """Not thread-safe by itself: the store calls it under its lock."""

    def __init__(self) -> None:
        self.last = Timestamp(int(time.time()), 0)

    def tick(self) -> Timestamp:
        now = int(time.time())
        self.last = (
            Timestamp(now, 1) if now > self.last.time else Timestamp(self.last.time, self.last.inc + 1)
        )
        return self.last

    def cluster_time_field(self) -> dict:
        """``$clusterTime`` as a mongod sends it (the signature is all zeros without keyFile auth)."""
        return {"clusterTime": self.last, "signature": {"hash": Binary(b"\x00" * 20), "keyId": Int64(0)}}

    @staticmethod
    def wall() -> datetime.datetime:
        now = datetime.datetime.now(datetime.timezone.utc)
        return now.replace(microsecond=now.microsecond // 1000 * 1000)
