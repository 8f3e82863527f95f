"""Cursors for ``find``/``aggregate``/``listCollections``: batches, ``getMore``, ``killCursors``.

Reply shapes from the manual ("find", "getMore", "killCursors"): ``cursor: {firstBatch|nextBatch,
id: NumberLong, ns}``; id 0 means exhausted. A first batch holds 101 documents unless
``batchSize`` says otherwise; later batches fill up to 16 MiB. A tailable cursor on the oplog
(capped) stays open at its end; with ``awaitData`` a ``getMore`` waits up to ``maxTimeMS``
(default 1 s) for a new entry, as mongo-tools' and pymongo's tailing expect; if the cap removed
entries it had not read yet, ``getMore`` fails with CappedPositionLost (136).
"""

from __future__ import annotations

import random
import time
from typing import Any, Callable, Dict, List, Optional

import bson
from bson.int64 import Int64
from bson.raw_bson import RawBSONDocument

from .catalog import Store
from .errors import CommandError
from .ordering import sort_key
from .wire import CODEC

FIRST_BATCH = 101
MAX_BATCH_BYTES = 16 * 1024 * 1024 - 16 * 1024


class Cursor:
    """A fixed result list, handed out in batches (non-tailable reads see the data at ``find`` time)."""

    def __init__(self, ns: str, docs: List[bytes]) -> None:
        self.id = Int64(random.getrandbits(62) + 1)
        self.ns = ns
        self.docs = docs
        self.position = 0

    def next_batch(
        self, size: Optional[int], store: Store, max_time_ms: Optional[int]
    ) -> List[RawBSONDocument]:
        return self.take(size)

    def take(self, size: Optional[int]) -> List[RawBSONDocument]:
        batch, total = [], 0
        while self.position < len(self.docs) and (size is None or len(batch) < size):
            raw = self.docs[self.position]
            if batch and total + len(raw) > MAX_BATCH_BYTES:
                break
            batch.append(RawBSONDocument(raw))
            total += len(raw)
            self.position += 1
        return batch

    @property
    def exhausted(self) -> bool:
        return self.position >= len(self.docs)


class TailCursor(Cursor):
    """A tailable cursor on the oplog: remembers the last entry it scanned and reads past it."""

    def __init__(
        self,
        ns: str,
        docs: List[bytes],
        last_scanned: Optional[Any],
        keep: Callable[[dict], bool],
        await_data: bool,
    ) -> None:
        super().__init__(ns, docs)
        self.last_scanned = last_scanned
        self.keep = keep
        self.await_data = await_data

    def _scan(self, store: Store) -> None:
        oplog = store.oplog
        if (
            self.last_scanned is not None
            and oplog.last_dropped is not None
            and oplog.last_dropped > sort_key(self.last_scanned)
        ):
            raise CommandError(136, "CollectionScan died due to position in capped collection being deleted")
        newer = oplog.after(self.last_scanned) if self.last_scanned is not None else oplog.all()
        for raw in newer:
            entry = bson.decode(raw, CODEC)
            self.last_scanned = entry["ts"]
            if self.keep(entry):
                self.docs.append(raw)

    def next_batch(
        self, size: Optional[int], store: Store, max_time_ms: Optional[int]
    ) -> List[RawBSONDocument]:
        self._scan(store)
        if self.exhausted and self.await_data:
            deadline = time.monotonic() + (max_time_ms if max_time_ms is not None else 1000) / 1000
            while self.exhausted and (left := deadline - time.monotonic()) > 0:
                store.lock.wait(left)
                self._scan(store)
        return self.take(size)


class CursorTable:
    """Open cursors by id; call under the store's lock."""

    def __init__(self) -> None:
        self.cursors: Dict[int, Cursor] = {}

    def first_batch(self, cursor: Cursor, size: Optional[int], single: bool = False) -> Dict[str, Any]:
        batch = cursor.take(FIRST_BATCH if size is None else size)
        return self._reply(cursor, batch, "firstBatch", single)

    def get_more(
        self, cursor_id: int, store: Store, size: Optional[int], max_time_ms: Optional[int]
    ) -> Dict[str, Any]:
        cursor = self.cursors.get(int(cursor_id))
        if cursor is None:
            raise CommandError(43, f"cursor id {cursor_id} not found")
        try:
            batch = cursor.next_batch(size or None, store, max_time_ms)  # 0: as many as fit
        except CommandError:
            self.cursors.pop(int(cursor_id), None)
            raise
        return self._reply(cursor, batch, "nextBatch", False)

    def _reply(self, cursor: Cursor, batch: List[RawBSONDocument], key: str, single: bool) -> Dict[str, Any]:
        stays = not single and (isinstance(cursor, TailCursor) or not cursor.exhausted)
        if stays:
            self.cursors[int(cursor.id)] = cursor
        else:
            self.cursors.pop(int(cursor.id), None)
        return {"cursor": {key: batch, "id": cursor.id if stays else Int64(0), "ns": cursor.ns}, "ok": 1.0}

    def kill(self, ids: List[Any]) -> Dict[str, Any]:
        killed, missing = [], []
        for cursor_id in ids:
            (killed if self.cursors.pop(int(cursor_id), None) is not None else missing).append(
                Int64(cursor_id)
            )
        return {
            "cursorsKilled": killed,
            "cursorsNotFound": missing,
            "cursorsAlive": [],
            "cursorsUnknown": [],
            "ok": 1.0,
        }
