"""The native restorer: archive reader -> collections with options -> parallel inserts -> indexes -> views ->
oplog replay -> users and roles.

``restore_archive`` runs these as named steps of ``_Restore``. Safety: without ``drop``, a target
collection that already holds documents stops the restore before anything is written
(``restore_plan.refuse_conflicts``). Documents are inserted as the raw BSON the archive holds, never
decoded.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Tuple

try:
    from bson.son import SON
except (
    ImportError
):  # pragma: no cover - hosts without pymongo fail in mongo_connection.connect with a clear message
    SON = None

from ansible_collections.offsite.mongodb.plugins.module_utils.archive_format import ArchiveError
from ansible_collections.offsite.mongodb.plugins.module_utils.archive_reader import (
    ArchiveEvent,
    ArchiveReader,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.checksum import warn_if_slow
from ansible_collections.offsite.mongodb.plugins.module_utils.compression import decompressing_reader
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.oplog_replay import OPLOG_BATCH, apply_oplog
from ansible_collections.offsite.mongodb.plugins.module_utils.parallel_insert import ParallelInserter
from ansible_collections.offsite.mongodb.plugins.module_utils.restore_plan import (
    SPECIAL_KINDS,
    RestorePlan,
    RestoreTarget,
    plan_targets,
    refuse_conflicts,
    write_concern,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.streams import Readable
from ansible_collections.offsite.mongodb.plugins.module_utils.users_and_roles import merge_users_and_roles

NOT_RESTORED_OPTIONS = ("flags", "autoIndexId", "viewOn", "pipeline")


@dataclass
class RestoreReport:
    """What the restore did."""

    compression: str
    server_version: str
    namespaces: List[RestoreTarget] = field(default_factory=list)
    dropped: List[str] = field(default_factory=list)
    oplog_entries_applied: int = 0
    verified: bool = False
    duration_seconds: float = 0.0
    skipped: List[str] = field(default_factory=list)

    @property
    def documents(self) -> int:
        return sum(t.documents for t in self.namespaces)

    @property
    def counts_match(self) -> bool:
        return self.verified and all(
            t.failed == 0 and t.documents == t.archive_documents for t in self.namespaces if t.kind != "view"
        )

    def to_result(self, check_only: bool = False) -> Dict[str, Any]:
        namespaces = []
        for t in self.namespaces:
            item = {"ns": t.ns, "source": t.source, "type": t.kind, "archive_documents": t.archive_documents}
            item.update(documents=t.documents, failed=t.failed, complete=t.archive_complete and t.data_done)
            namespaces.append(item)
        return {
            "namespaces": namespaces,
            "documents": self.documents
            if not check_only
            else sum(t.archive_documents for t in self.namespaces),
            "counts_match": self.counts_match if not check_only else self.verified,
            "dropped": self.dropped,
            "oplog_entries_applied": self.oplog_entries_applied,
            "verified": self.verified,
            "skipped": self.skipped,
            "archive_server_version": self.server_version,
            "compression": self.compression,
            "duration_seconds": self.duration_seconds,
        }


class RestoreFailed(OffsiteError):
    """A restore that stopped part way; ``report`` says which namespaces are complete."""

    def __init__(self, message: str, report: RestoreReport) -> None:
        super().__init__(message)
        self.report = report


def open_archive(
    source: Readable, plan: RestorePlan
) -> Tuple[ArchiveReader, Dict[str, RestoreTarget], RestoreReport]:
    """Decompress and read the prelude: (reader, targets by body namespace, an empty report)."""
    stream, compression = decompressing_reader(source)
    reader = ArchiveReader(stream)
    targets = plan_targets(reader, plan)
    report = RestoreReport(compression=compression, server_version=reader.header.server_version)
    report.namespaces = [t for t in targets.values() if t.kind not in SPECIAL_KINDS]
    report.skipped = sorted(e.ns for e in reader.entries if reader.data_namespace(e) not in targets)
    if plan.oplog_replay and not any(e.is_oplog for e in reader.entries):
        raise OffsiteError("oplog_replay is set but the archive holds no oplog: dump with consistency oplog")
    return reader, targets, report


def index_specs(metadata: Dict[str, Any]) -> List[Dict[str, Any]]:
    """The index specs to build (mongorestore's clean-ups: no ``_id_``, ``ns`` or ``v``)."""
    specs = []
    for spec in metadata.get("indexes") or []:
        if spec.get("name") == "_id_":
            continue
        clean = SON((key, value) for key, value in spec.items() if key not in ("ns", "v"))
        if spec.get("v") == 1 and (clean.get("collation") or {}).get("locale") == "simple":
            clean.pop("collation")
        if "2dsphere" in list((spec.get("key") or {}).values()) and "2dsphereIndexVersion" not in clean:
            clean["2dsphereIndexVersion"] = 1
        specs.append(clean)
    return specs


def create_options(metadata: Dict[str, Any]) -> Dict[str, Any]:
    options = metadata.get("options") or {}
    return {key: value for key, value in options.items() if key not in NOT_RESTORED_OPTIONS}


def tally_archive(
    reader: ArchiveReader, targets: Mapping[str, RestoreTarget], restored: bool = False
) -> None:
    """Read the rest of the archive, counting each target's documents and marking whole namespaces.

    ``restored`` also marks their data as done (check mode, where reading is all there is to do).
    """
    for event in reader.events():
        target = targets.get(reader.data_namespace(event.entry))
        if target is None:
            continue
        if event.kind == "data":
            target.archive_documents += event.count
        else:
            target.archive_complete = True
            target.data_done = target.data_done or restored


class _Restore:
    """One restore, step by step: prepare the targets, stream the data, finish it, replay, merge users."""

    def __init__(self, client: Any, reader: ArchiveReader, targets: Dict[str, RestoreTarget], plan: RestorePlan,
                 report: RestoreReport) -> None:  # fmt: skip
        self.client = client
        self.reader = reader
        self.targets = targets
        self.plan = plan
        self.report = report
        self.collections = [t for t in report.namespaces if t.kind != "view"]
        self.auth: Dict[str, List[bytes]] = {"users": [], "roles": []}
        self.oplog: List[bytes] = []
        self.data_finished = False
        self.inserter = ParallelInserter(
            client, plan.parallel_collections * plan.insertion_workers, write_concern(plan.write_concern),
            plan.bypass_document_validation,
        )  # fmt: skip

    def prepare_targets(self) -> None:
        """Refuse conflicts (before any write), drop what ``drop`` replaces, create collections with options."""
        existing, present = refuse_conflicts(self.client, self.report.namespaces, self.plan)
        for t in present if self.plan.drop else []:
            self.client[t.db].drop_collection(t.collection)
            self.report.dropped.append(t.ns)
        for t in self.collections:
            if self.plan.drop or t.collection not in existing.get(t.db, []):
                options = create_options(t.metadata)
                if t.kind == "timeseries" and "timeseries" not in options:
                    raise OffsiteError(
                        f"{t.source} is a timeseries collection without timeseries options in its metadata"
                    )
                self.client[t.db].command(SON([("create", t.collection), *options.items()]))

    def stream_data(self) -> None:
        """Read the body: documents to their targets, users and roles and oplog entries to their buffers."""
        for event in self.reader.events():
            target = self.targets.get(self.reader.data_namespace(event.entry))
            if target is None:
                continue
            if event.kind == "eof":
                target.archive_complete = True
                continue
            target.archive_documents += event.count
            if target.kind in ("users", "roles"):
                self.auth[target.kind].extend(event.documents)
            elif target.kind == "oplog":
                self.finish_data()
                self.oplog.extend(event.documents)
                if len(self.oplog) >= OPLOG_BATCH:
                    self.replay_oplog()
            else:
                self.inserter.submit(target, self._physical(event, target), event.runs, event.count)

    def _physical(self, event: ArchiveEvent, target: RestoreTarget) -> str:
        """The collection the documents go into (a renamed timeseries keeps its buckets prefix)."""
        if target.kind == "timeseries":
            return event.entry.data_collection(self.reader.version).replace(
                event.entry.collection, target.collection, 1
            )
        return target.collection

    def finish_data(self) -> None:
        """Once: wait for the inserts, then build indexes and create views (after their sources)."""
        if self.data_finished:
            return
        self.data_finished = True
        self.inserter.wait()
        for t in self.collections:
            specs = index_specs(t.metadata)
            if specs:
                self.client[t.db].command("createIndexes", t.collection, indexes=specs)
        for t in self.report.namespaces:
            if t.kind == "view":
                options = t.metadata.get("options") or {}
                extra = {"collation": options["collation"]} if "collation" in options else {}
                self.client[t.db].command(
                    "create",
                    t.collection,
                    viewOn=options.get("viewOn"),
                    pipeline=options.get("pipeline", []),
                    **extra,
                )
            t.data_done = True

    def replay_oplog(self) -> None:
        if self.oplog:
            self.report.oplog_entries_applied += apply_oplog(self.client, self.oplog, self.plan)
            self.oplog = []

    def merge_auth(self) -> None:
        """Merge users and roles; ``drop`` removes users missing from the archive only on a whole restore."""
        whole = not (self.plan.include or self.plan.exclude or self.plan.ns_from)
        if self.auth["users"] or self.auth["roles"]:
            merge_users_and_roles(
                self.client, self.auth["users"], self.auth["roles"], self.plan.drop and whole
            )

    def run(self) -> None:
        try:
            self.prepare_targets()
            try:
                self.stream_data()
            except ArchiveError as exc:
                self.inserter.wait()
                raise RestoreFailed(str(exc), self.report) from None
            self.report.verified = True
            self.finish_data()
            self.replay_oplog()
            self.merge_auth()
        finally:
            self.inserter.close()


def restore_archive(client: Any, source: Readable, plan: RestorePlan) -> RestoreReport:
    """Restore the archive read from ``source``; ``plan.check_only`` reads and verifies it without a client."""
    plan.check()
    warn_if_slow()
    clock = time.monotonic()
    reader, targets, report = open_archive(source, plan)
    if plan.check_only:
        try:
            tally_archive(reader, targets, restored=True)
        except ArchiveError as exc:
            raise RestoreFailed(str(exc), report) from None
        report.verified = True
    else:
        _Restore(client, reader, targets, plan, report).run()
    report.duration_seconds = round(time.monotonic() - clock, 3)
    return report
