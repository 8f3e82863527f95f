"""Parallel raw inserts with a bounded number of batches in flight, so memory stays bounded."""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, List, Optional

try:
    from bson.raw_bson import RawBSONDocument
    from pymongo.errors import BulkWriteError
    from pymongo.write_concern import WriteConcern
except (
    ImportError
):  # pragma: no cover - hosts without pymongo fail in mongo_connection.connect with a clear message
    RawBSONDocument = WriteConcern = None
    BulkWriteError = Exception

from ansible_collections.offsite.mongodb.plugins.module_utils.restore_plan import RestoreTarget


class ParallelInserter:
    """Parallel raw inserts with a bounded number of batches in flight (memory stays bounded)."""

    def __init__(self, client: Any, workers: int, concern: Optional[WriteConcern], bypass: bool) -> None:
        self.client = client
        self.concern = concern
        self.bypass = bypass
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="restore")
        self.slots = threading.BoundedSemaphore(workers * 2)
        self.futures: List[Future] = []
        self.lock = threading.Lock()

    def submit(self, target: RestoreTarget, physical: str, documents: List[bytes]) -> None:
        self.slots.acquire()
        future = self.pool.submit(self._insert, target, physical, documents)
        future.add_done_callback(lambda _: self.slots.release())
        self.futures.append(future)
        if len(self.futures) > 256:
            self.futures = [f for f in self.futures if not f.done() or f.exception() is not None]

    def _insert(self, target: RestoreTarget, physical: str, documents: List[bytes]) -> None:
        collection = self.client[target.db][physical]
        if self.concern is not None:
            collection = collection.with_options(write_concern=self.concern)
        raw = [RawBSONDocument(doc) for doc in documents]
        try:
            collection.insert_many(raw, ordered=False, bypass_document_validation=self.bypass)
            inserted, failed = len(raw), 0
        except BulkWriteError as exc:
            failed = len(exc.details.get("writeErrors", []))
            inserted = int(exc.details.get("nInserted", len(documents) - failed))
        with self.lock:
            target.documents += inserted
            target.failed += failed

    def wait(self) -> None:
        """Wait for every insert; the first error (other than rejected documents) is raised."""
        for future in self.futures:
            future.result()
        self.futures = []

    def close(self) -> None:
        self.pool.shutdown(wait=True)
