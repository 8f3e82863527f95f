"""The native dumper: raw BSON from many collections at once, through the archive writer and the compressor.

``dump_archive(client, sink, plan)`` runs the pipeline as named steps: inspect the node and check the
consistency it can give, open the consistency window (oplog start or snapshot time), plan the
namespaces, write the prelude, copy the collections (admin's users and roles first, then several at
once), append the oplog window, and finish the archive. Consistency ``lock`` means the caller holds
the fsync lock: the dump only reads.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

from ansible_collections.offsite.mongodb.plugins.module_utils import fsync_lock
from ansible_collections.offsite.mongodb.plugins.module_utils.archive_format import (
    OPLOG_COLLECTION,
    ArchiveHeader,
    PreludeEntry,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.archive_writer import ArchiveWriter
from ansible_collections.offsite.mongodb.plugins.module_utils.byte_budget import (
    BatchReservation,
    ByteBudget,
    read_share,
    reply_documents,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.checksum import warn_if_slow
from ansible_collections.offsite.mongodb.plugins.module_utils.collection_reads import (
    CollectionReader,
    SnapshotReader,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.compression import compressing_writer
from ansible_collections.offsite.mongodb.plugins.module_utils.dump_plan import (
    DumpNamespace,
    DumpPlan,
    plan_namespaces,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.mongo_node import NodeInfo, read_node
from ansible_collections.offsite.mongodb.plugins.module_utils.namespaces import AUTH_NAMESPACES
from ansible_collections.offsite.mongodb.plugins.module_utils.oplog_capture import OplogCapture
from ansible_collections.offsite.mongodb.plugins.module_utils.process_memory import limit_heap_retention
from ansible_collections.offsite.mongodb.plugins.module_utils.streams import Writable
from ansible_collections.offsite.mongodb.plugins.module_utils.times import precise_time

TOOL_VERSION = "offsite.mongodb-0.1.0"
SNAPSHOT_MIN_VERSION = (5, 0, 0)

Progress = Callable[[str, int], None]


@dataclass
class NamespaceResult:
    """What was dumped of one namespace."""

    ns: str
    type: str
    documents: int
    bytes: int


@dataclass
class DumpReport:
    """What a dump wrote (the module's return values, minus the file's own)."""

    server_version: str
    consistency: str
    compression: str
    namespaces: List[NamespaceResult] = field(default_factory=list)
    oplog: Optional[Dict[str, Any]] = None
    started_at: str = ""
    finished_at: str = ""
    duration_seconds: float = 0.0
    warnings: List[str] = field(default_factory=list)

    @property
    def documents(self) -> int:
        return sum(item.documents for item in self.namespaces)

    @property
    def bytes(self) -> int:
        return sum(item.bytes for item in self.namespaces)

    def to_result(self) -> Dict[str, Any]:
        return {
            "server_version": self.server_version,
            "consistency": self.consistency,
            "compression": self.compression,
            "namespaces": [vars(item).copy() for item in self.namespaces],
            "documents": self.documents,
            "oplog": self.oplog,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "duration_seconds": self.duration_seconds,
        }


def consistency_warnings(client: Any, plan: DumpPlan, node: NodeInfo) -> List[str]:
    """One-line errors for a node that cannot give the asked consistency; warnings for doubtful ones."""
    if plan.consistency == "oplog" and not node.is_replica_set_member:
        raise OffsiteError(
            f"consistency=oplog needs a replica-set member: {plan.where} is a {node.kind}; "
            "dump a member of the replica set, or use consistency lock or none"
        )
    if plan.consistency == "snapshot" and tuple(node.version) < SNAPSHOT_MIN_VERSION:
        raise OffsiteError(
            f"consistency=snapshot needs MongoDB 5.0 or newer: {plan.where} runs {node.version_string}; "
            "use consistency oplog or lock"
        )
    if plan.consistency == "lock":
        fsync_lock.check_lockable(node, plan.where)  # an arbiter or an old mongos: refused, with what to do
        try:
            locked = fsync_lock.is_locked(client)
        except Exception:
            locked = False
        if not locked:
            return [
                f"consistency=lock, but {plan.where} does not report an fsync lock: the dump is not a consistent "
                "image; lock the node with offsite.mongodb.mongo_fsync_lock before the dump"
            ]
    return []


class _CollectionCopier:
    """Copies planned namespaces into the archive: auth namespaces one by one, the rest several at once.

    Each batch is fetched and written while holding a share of ``budget`` sized for it: replies are
    asked for by a ``batchSize`` that makes them about ``TARGET_REPLY`` bytes (from the collection's
    average document), and a collection whose size is unknown reserves the worst case (the server
    decides how large a batch is only when it sends it). So several collections are read at once, and
    the batches in memory stay within the budget however many are open and however large their documents.
    """

    def __init__(
        self,
        writer: ArchiveWriter,
        reader: CollectionReader,
        progress: Optional[Progress],
        budget: ByteBudget,
    ) -> None:
        self.writer = writer
        self.reader = reader
        self.progress = progress
        self.budget = budget
        self.results: Dict[str, NamespaceResult] = {}
        self.stop = threading.Event()

    def copy_one(self, item: DumpNamespace) -> None:
        stream = self.writer.namespace(item.db, item.data_collection)
        if item.type != "view":
            batch_size = self.reader.batch_size or reply_documents(item.count, item.size)
            reservation = BatchReservation(batch_size, item.count, item.size)
            batches = iter(self.reader.batches(item, batch_size))
            try:
                while not self.stop.is_set():
                    with self.budget.reserve(reservation.size()):
                        batch = next(batches, None)
                        if batch is None:
                            break
                        reservation.seen(len(batch))
                        stream.write(batch)
                    if self.progress:
                        self.progress(item.ns, len(batch))
                    del batch
            finally:
                getattr(batches, "close", lambda: None)()  # a cursor left early is closed now
            if self.stop.is_set():
                return
        totals = stream.close()
        self.results[item.ns] = NamespaceResult(item.ns, item.type, totals.documents, totals.bytes)

    def copy_all(self, items: List[DumpNamespace], parallel: int) -> None:
        for item in items:
            if item.ns in AUTH_NAMESPACES:
                self.copy_one(item)
        ordinary = [item for item in items if item.ns not in AUTH_NAMESPACES]
        with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="dump") as pool:
            futures = [pool.submit(self.copy_one, item) for item in ordinary]
            done, _pending = wait(futures, return_when=FIRST_EXCEPTION)
            # The first failure in submission order is the cause; later ones may only be its echo
            # (a namespace left open by the failed copy makes the next one exceed the open limit).
            failed = [future for future in futures if future in done and future.exception() is not None]
            if failed:
                self.stop.set()
                for future in futures:
                    future.cancel()
                raise failed[0].exception()


def _open_consistency_window(client: Any, plan: DumpPlan) -> Tuple[CollectionReader, Optional[OplogCapture]]:
    """The reader for the collections and, for ``oplog``, the capture whose start is now fixed."""
    oplog = None
    reader = CollectionReader(client, plan.batch_size)
    if plan.consistency == "oplog":
        oplog = OplogCapture(client, plan.databases)
        oplog.begin(plan.where)
    if plan.consistency == "snapshot":
        reader = SnapshotReader(client, plan.batch_size)
        reader.start(plan.where)
    return reader, oplog


def dump_archive(
    client: Any, sink: Writable, plan: DumpPlan, progress: Optional[Progress] = None
) -> DumpReport:
    """Dump into ``sink``; the sink is not closed. Returns what was written."""
    plan.check()
    warn_if_slow()
    limit_heap_retention()  # else freed batches stay in per-thread heaps and RSS outgrows the budget
    started, clock = precise_time(), time.monotonic()
    node = read_node(client)
    warnings = consistency_warnings(client, plan, node)
    reader, oplog = _open_consistency_window(client, plan)
    items = plan_namespaces(client, plan, node.version, sizes=True)
    entries = [item.entry() for item in items]
    if oplog is not None:
        entries.append(PreludeEntry("", OPLOG_COLLECTION, "", ""))

    compressor = compressing_writer(sink, plan.compression, plan.compression_level)
    writer = ArchiveWriter(compressor)
    header = ArchiveHeader(
        node.version_string, TOOL_VERSION, concurrent_collections=plan.parallel_collections
    )
    writer.write_prelude(header, entries)
    copier = _CollectionCopier(writer, reader, progress, ByteBudget(read_share(plan.memory_budget)))
    copier.copy_all(items, plan.parallel_collections)
    oplog_window = None
    if oplog is not None:
        stream = writer.namespace("", OPLOG_COLLECTION)
        oplog_window = oplog.write(stream, plan.where)
        stream.close()
    writer.finish()
    compressor.finish()
    return DumpReport(
        server_version=node.version_string,
        consistency=plan.consistency,
        compression=plan.compression,
        namespaces=[copier.results[item.ns] for item in items],
        oplog=oplog_window,
        started_at=started,
        finished_at=precise_time(),
        duration_seconds=round(time.monotonic() - clock, 3),
        warnings=warnings,
    )


def preview_dump(client: Any, plan: DumpPlan) -> Dict[str, Any]:
    """What a dump would write (namespaces with estimated documents and bytes), without writing: check mode."""
    plan.check()
    node = read_node(client)
    warnings = consistency_warnings(client, plan, node)
    items = plan_namespaces(client, plan, node.version, sizes=True)
    return {
        "compression": plan.compression,
        "consistency": plan.consistency,
        "server_version": node.version_string,
        "namespaces": [{"ns": i.ns, "type": i.type, "documents": i.count, "bytes": i.size} for i in items],
        "documents": sum(i.count for i in items),
        "estimated": True,
        "warnings": warnings,
    }
