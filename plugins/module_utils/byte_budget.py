"""A byte budget shared by threads: memory held in flight is reserved first, and waits while the budget is spent.

A reservation larger than the whole budget is let through alone (when nothing else is reserved), so
one oversized item slows the pipeline down instead of stopping it.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Iterator, Optional

MiB = 1 << 20


class ByteBudget:
    """At most ``limit`` bytes reserved at once (``reserve`` blocks until there is room)."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"a byte budget must be positive, got {limit}")
        self.limit = int(limit)
        self.reserved = 0
        self.peak = 0
        self._room = threading.Condition()

    @contextlib.contextmanager
    def reserve(self, size: int) -> Iterator[None]:
        """Hold ``size`` bytes of the budget for the duration of the ``with`` block."""
        size = max(0, int(size))
        with self._room:
            self._room.wait_for(lambda: self.reserved == 0 or self.reserved + size <= self.limit)
            self.reserved += size
            self.peak = max(self.peak, self.reserved)
        try:
            yield
        finally:
            with self._room:
                self.reserved -= size
                self._room.notify_all()


# -- how a dump spends its budget ---------------------------------------------------------------
DEFAULT_DUMP_BUDGET = 160 * MiB  # with the interpreter and libraries, a dump stays under 256 MiB RSS
MIN_DUMP_BUDGET = 96 * MiB
MAX_REPLY = 16 * MiB + 16 * 1024  # the largest find/getMore reply a server sends (BSONObjMaxInternalSize)
# pymongo holds a reply several times over while it turns it into a raw batch (the received message, the
# payload, the batch cut from it): measured here, a 7 MiB reply raised the peak RSS by 38 MiB.
PYMONGO_COPIES = 5
BATCH_RESERVATION = PYMONGO_COPIES * MAX_REPLY  # a reply of unknown size: the worst case
TARGET_REPLY = 2 * MiB  # the reply size a dump asks for (batchSize from the average document size)
COMPRESSION_SHARE = 16 * MiB  # blocks and frames inside the compressor


def reply_documents(count: int, size: int) -> Optional[int]:
    """The ``batchSize`` that makes replies about ``TARGET_REPLY`` bytes; None when the collection's size is unknown."""
    if count <= 0 or size <= 0:
        return None
    return max(1, TARGET_REPLY * count // size)


class BatchReservation:
    """How much of the budget one batch of a collection holds: ``PYMONGO_COPIES`` times its likely size.

    The likely size is twice the expected reply (documents vary around their average) or the largest
    batch seen so far in the collection, whichever is larger; the worst case when nothing is known.
    """

    def __init__(self, batch_size: Optional[int], count: int, size: int) -> None:
        """``batch_size`` documents a reply, from a collection of ``count`` documents and ``size`` bytes (0: unknown)."""
        average = size // count if count > 0 and size > 0 else 0
        self.expected = batch_size * average if batch_size and average else None
        self.largest = 0

    def size(self) -> int:
        if not self.expected:
            return BATCH_RESERVATION
        return PYMONGO_COPIES * min(MAX_REPLY, max(2 * self.expected, self.largest))

    def seen(self, batch_bytes: int) -> None:
        self.largest = max(self.largest, batch_bytes)


def read_share(budget: int) -> int:
    """Bytes of the dump budget for batches read from the server (at least one batch at a time)."""
    return max(BATCH_RESERVATION, budget // 2 + budget // 8)


def upload_concurrency(budget: int, part_size: int, wanted: int) -> int:
    """Parts in flight for a streamed upload, so they and the part being filled fit in what reads leave."""
    room = budget - read_share(budget) - COMPRESSION_SHARE
    return max(1, min(wanted, room // max(1, part_size) - 1))
