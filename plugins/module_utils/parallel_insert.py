"""Parallel raw inserts with a bounded number of batches in flight, so memory stays bounded.

Each batch goes as ``insert`` commands of raw documents (at most ``INSERT_BYTES`` and ``INSERT_DOCUMENTS``
each, within the server's command and write-batch limits), unordered, so one rejected document does not
stop the rest. ``insert_many`` does the same on the wire but walks every document through its bulk API
in Python first; here the archive's runs of documents go into the command as they are
(``raw_documents.wrap_runs``), with no Python work per document at all. The reply's ``n`` and
``writeErrors`` give the counts; a write concern error fails the restore.

A command is not a retryable write to pymongo (``insert_many`` would have been retried once), so a chunk
whose connection was lost or whose primary stepped down is sent again here, up to ``RETRIES`` times. On a
resend, a duplicate key error is a document the lost attempt had already inserted: it counts as restored.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Iterator, List, Optional, Sequence, Tuple

try:
    from bson.son import SON
    from pymongo.errors import AutoReconnect
    from pymongo.write_concern import WriteConcern
except (
    ImportError
):  # pragma: no cover - hosts without pymongo fail in mongo_connection.connect with a clear message
    SON = WriteConcern = None
    AutoReconnect = ConnectionError

from ansible_collections.offsite.mongodb.plugins.module_utils import document_runs, raw_documents
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.restore_plan import RestoreTarget

INSERT_BYTES = 8 << 20  # documents per command, by size: with the largest document, under 16 MiB + 16 KiB
INSERT_DOCUMENTS = 10_000  # and by count: the server takes at most 100,000 writes per command
RETRIES = 2  # resends after a lost connection or a stepped-down primary (NotPrimaryError is an AutoReconnect)
RETRY_PAUSE = 0.5  # seconds before the first resend, doubled for the next
DUPLICATE_KEY = 11000


def insert_chunks(runs: Sequence[bytes], count: int) -> Iterator[Tuple[List[bytes], int]]:
    """``runs`` of ``count`` documents as (runs, documents) per insert command: at most ``INSERT_BYTES`` (or
    one larger document) and ``INSERT_DOCUMENTS`` each."""
    return document_runs.cut(runs, count, INSERT_BYTES, INSERT_DOCUMENTS)


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

    def submit(self, target: RestoreTarget, physical: str, runs: Sequence[bytes], count: int) -> None:
        """Insert ``count`` documents, given as runs (see ``document_runs``), into ``physical``."""
        self.slots.acquire()
        future = self.pool.submit(self._insert, target, physical, runs, count)
        future.add_done_callback(lambda _: self.slots.release())
        self.futures.append(future)
        if len(self.futures) > 256:
            self.futures = [f for f in self.futures if not f.done() or f.exception() is not None]

    def _insert(self, target: RestoreTarget, physical: str, runs: Sequence[bytes], count: int) -> None:
        database = self.client[target.db]
        for chunk, documents in insert_chunks(runs, count):
            command = SON(
                [
                    ("insert", physical),
                    ("documents", raw_documents.wrap_runs(chunk)),
                    ("ordered", False),
                ]
            )
            if self.bypass:
                command["bypassDocumentValidation"] = True
            if self.concern is not None:
                command["writeConcern"] = self.concern.document
            reply, resent = self._send(database, command)
            errors = reply.get("writeErrors") or []
            if resent:
                errors = [error for error in errors if error.get("code") != DUPLICATE_KEY]
            failed = len(errors)
            inserted = documents - failed if resent else int(reply.get("n", documents - failed))
            with self.lock:
                target.documents += inserted
                target.failed += failed
            problem = reply.get("writeConcernError")
            if problem:
                raise OffsiteError(
                    f"the write concern failed while restoring {target.db}.{physical}: "
                    f"{' '.join(str(problem.get('errmsg', problem)).split())[:300]}"
                )

    @staticmethod
    def _send(database: Any, command: Any) -> Tuple[Any, bool]:
        """The reply to ``command`` and whether it took a resend (see the module's docstring)."""
        for attempt in range(RETRIES + 1):
            try:
                return database.command(command), attempt > 0
            except AutoReconnect:
                if attempt == RETRIES:
                    raise
                time.sleep(RETRY_PAUSE * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def wait(self) -> None:
        """Wait for every insert; the first error (other than rejected documents) is raised."""
        for future in self.futures:
            future.result()
        self.futures = []

    def close(self) -> None:
        self.pool.shutdown(wait=True)
