"""The native restorer: archive reader -> collections with options -> parallel inserts -> indexes ->
views -> oplog replay -> users and roles.

Safety: without ``drop``, a target collection that already holds documents stops the restore before
anything is written, and the error lists every such collection. Documents are inserted as the raw
BSON the archive holds (``RawBSONDocument``), never decoded.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple, Union

try:
    import bson
    from bson.raw_bson import RawBSONDocument
    from bson.son import SON
    from pymongo.errors import BulkWriteError
    from pymongo.write_concern import WriteConcern
except ImportError:  # pragma: no cover - hosts without pymongo fail in mongo.connect with a clear message
    bson = RawBSONDocument = SON = WriteConcern = None
    BulkWriteError = Exception

from ansible_collections.offsite.mongodb.plugins.module_utils.archive import (
    ArchiveError,
    ArchiveReader,
    PreludeEntry,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.checksum import warn_if_slow
from ansible_collections.offsite.mongodb.plugins.module_utils.compression import decompressing_reader
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.namespaces import (
    NamespaceFilter,
    Renamer,
    split_namespace,
)

USERS, ROLES, VERSION = "admin.system.users", "admin.system.roles", "admin.system.version"
TEMP_USERS, TEMP_ROLES = "tempusers", "temproles"
OPLOG_BATCH = 1000
NOT_RESTORED_OPTIONS = ("flags", "autoIndexId", "viewOn", "pipeline")


@dataclass
class RestorePlan:
    """What to restore and how (module options)."""

    include: List[str] = field(default_factory=list)
    exclude: List[str] = field(default_factory=list)
    ns_from: List[str] = field(default_factory=list)
    ns_to: List[str] = field(default_factory=list)
    drop: bool = False
    oplog_replay: bool = False
    users_and_roles: bool = False
    parallel_collections: int = 4
    insertion_workers: int = 1
    write_concern: Optional[Union[str, int, Dict[str, Any]]] = None
    bypass_document_validation: bool = True
    check_only: bool = False  # read and verify the whole archive, write nothing
    where: str = "the server"

    def check(self) -> None:
        NamespaceFilter(self.include, self.exclude)
        renamer = Renamer(self.ns_from, self.ns_to)
        if renamer and self.oplog_replay:
            raise OffsiteError(
                "oplog_replay cannot be combined with ns_from/ns_to: oplog entries name the old namespaces"
            )
        for name in ("parallel_collections", "insertion_workers"):
            if not 1 <= int(getattr(self, name)) <= 100:
                raise OffsiteError(f"{name} must be between 1 and 100, got {getattr(self, name)}")
        write_concern(self.write_concern)


def write_concern(value: Optional[Union[str, int, Dict[str, Any]]]) -> Optional[WriteConcern]:
    """``majority``, ``2``, or ``{w: ..., j: ..., wtimeout: ...}`` as a ``WriteConcern``."""
    if value in (None, ""):
        return None
    if isinstance(value, dict):
        options = dict(value)
    elif isinstance(value, int) or str(value).isdigit():
        options = {"w": int(value)}
    else:
        options = {"w": str(value)}
    try:
        return WriteConcern(**options)
    except (TypeError, ValueError) as exc:
        raise OffsiteError(
            f"write_concern {value!r} is not valid ({exc}): use majority, a number or {{w: ...}}"
        ) from None


@dataclass
class Target:
    """One archive namespace and where it goes."""

    entry: PreludeEntry
    source: str
    ns: str
    kind: str  # collection | view | timeseries | oplog | users | roles
    metadata: Dict[str, Any]
    archive_documents: int = 0
    documents: int = 0
    failed: int = 0
    archive_complete: bool = False
    data_done: bool = False

    @property
    def db(self) -> str:
        return split_namespace(self.ns)[0]

    @property
    def collection(self) -> str:
        return split_namespace(self.ns)[1]


@dataclass
class RestoreReport:
    """What the restore did."""

    compression: str
    server_version: str
    namespaces: List[Target] = field(default_factory=list)
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


def plan_targets(reader: ArchiveReader, plan: RestorePlan) -> Dict[str, Target]:
    """Archive namespaces (by body name) -> targets, after filters and renames; skipped ones are left out."""
    selected = NamespaceFilter(plan.include, plan.exclude)
    renamer = Renamer(plan.ns_from, plan.ns_to)
    version = reader.version
    targets: Dict[str, Target] = {}
    for entry in reader.entries:
        body = f"{entry.db}.{entry.data_collection(version)}"
        metadata = reader.metadata.get(entry.ns) or {}
        if entry.is_oplog:
            if plan.oplog_replay:
                targets[body] = Target(entry, entry.ns, entry.ns, "oplog", metadata)
            continue
        if entry.ns in (USERS, ROLES):
            if plan.users_and_roles:
                targets[body] = Target(
                    entry, entry.ns, entry.ns, "users" if entry.ns == USERS else "roles", metadata
                )
            continue
        db, collection = entry.db, entry.collection
        if (
            entry.ns == VERSION
            or collection.startswith("$admin.")
            or collection in ("system.views", "system.profile")
        ):
            continue
        if not selected.selects(entry.ns):
            continue
        kind = (
            entry.type
            or metadata.get("type")
            or ("view" if "viewOn" in (metadata.get("options") or {}) else "")
        )
        target = renamer.rename(entry.ns)
        if not split_namespace(target)[1]:
            raise OffsiteError(
                f"ns_to maps {entry.ns} to {target!r}, which has no collection part: fix ns_to"
            )
        targets[body] = Target(entry, f"{db}.{collection}", target, kind or "collection", metadata)
    return targets


class _Inserter:
    """Parallel raw inserts with a bounded number of batches in flight (memory stays bounded)."""

    def __init__(self, client: Any, workers: int, concern: Optional[WriteConcern], bypass: bool) -> None:
        self.client = client
        self.concern = concern
        self.bypass = bypass
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="restore")
        self.slots = threading.BoundedSemaphore(workers * 2)
        self.futures: List[Future] = []
        self.lock = threading.Lock()

    def submit(self, target: Target, physical: str, documents: List[bytes]) -> None:
        self.slots.acquire()
        future = self.pool.submit(self._insert, target, physical, documents)
        future.add_done_callback(lambda _: self.slots.release())
        self.futures.append(future)
        if len(self.futures) > 256:
            self.futures = [f for f in self.futures if not f.done() or f.exception() is not None]

    def _insert(self, target: Target, physical: str, documents: List[bytes]) -> None:
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


def _create_options(metadata: Dict[str, Any]) -> Dict[str, Any]:
    options = metadata.get("options") or {}
    return {key: value for key, value in options.items() if key not in NOT_RESTORED_OPTIONS}


def _existing(client: Any, targets: List[Target]) -> Dict[str, List[str]]:
    names: Dict[str, List[str]] = {}
    for db in sorted({t.db for t in targets}):
        names[db] = list(client[db].list_collection_names())
    return names


def _holds_documents(client: Any, target: Target) -> bool:
    return client[target.db][target.collection].find_one({}, projection={"_id": 1}) is not None


def refuse_conflicts(
    client: Any, targets: List[Target], plan: RestorePlan
) -> Tuple[Dict[str, List[str]], List[Target]]:
    """Fail before any write when targets collide or, without ``drop``, already hold documents.

    Returns the existing collection names per database and the targets that exist.
    """
    seen: Dict[str, str] = {}
    for t in targets:
        if t.ns in seen:
            raise OffsiteError(
                f"{seen[t.ns]} and {t.source} would both be restored into {t.ns}: fix ns_from/ns_to"
            )
        seen[t.ns] = t.source
    existing = _existing(client, targets)
    present = [t for t in targets if t.collection in existing.get(t.db, [])]
    if not plan.drop:
        full = [t.ns for t in present if t.kind == "view" or _holds_documents(client, t)]
        if full:
            raise OffsiteError(
                f"these target collections already hold documents (or are views): {', '.join(sorted(full))}; "
                "set drop: true to replace them, or restore elsewhere with ns_from/ns_to"
            )
    return existing, present


def tally_archive(reader: ArchiveReader, targets: Mapping[str, Target], restored: bool = False) -> None:
    """Read the rest of the archive, counting each target's documents and marking whole namespaces.

    ``restored`` also marks their data as done (check mode, where reading is all there is to do).
    """
    for event in reader.events():
        target = targets.get(f"{event.entry.db}.{event.entry.data_collection(reader.version)}")
        if target is None:
            continue
        if event.kind == "data":
            target.archive_documents += len(event.documents)
        else:
            target.archive_complete = True
            target.data_done = target.data_done or restored


def restore_archive(client: Any, source: Any, plan: RestorePlan) -> RestoreReport:  # noqa: PLR0912, PLR0915
    """Restore the archive read from ``source`` (anything with ``.read``); see the module docstring."""
    plan.check()
    warn_if_slow()
    clock = time.monotonic()
    stream, compression = decompressing_reader(source)
    reader = ArchiveReader(stream)
    targets = plan_targets(reader, plan)
    report = RestoreReport(compression=compression, server_version=reader.header.server_version)
    report.namespaces = [t for t in targets.values() if t.kind not in ("oplog", "users", "roles")]
    report.skipped = sorted(
        e.ns for e in reader.entries if f"{e.db}.{e.data_collection(reader.version)}" not in targets
    )
    if plan.oplog_replay and not any(e.is_oplog for e in reader.entries):
        raise OffsiteError("oplog_replay is set but the archive holds no oplog: dump with consistency oplog")
    if plan.check_only:
        try:
            tally_archive(reader, targets, restored=True)
        except ArchiveError as exc:
            raise RestoreFailed(str(exc), report) from None
        report.verified = True
        report.duration_seconds = round(time.monotonic() - clock, 3)
        return report

    collections = [t for t in report.namespaces if t.kind != "view"]
    existing, present = refuse_conflicts(client, report.namespaces, plan)
    for t in present if plan.drop else []:
        client[t.db].drop_collection(t.collection)
        report.dropped.append(t.ns)
    for t in collections:
        if plan.drop or t.collection not in existing.get(t.db, []):
            options = _create_options(t.metadata)
            if t.kind == "timeseries" and "timeseries" not in options:
                raise OffsiteError(
                    f"{t.source} is a timeseries collection without timeseries options in its metadata"
                )
            client[t.db].command(SON([("create", t.collection), *options.items()]))

    inserter = _Inserter(
        client, plan.parallel_collections * plan.insertion_workers, write_concern(plan.write_concern),
        plan.bypass_document_validation,
    )  # fmt: skip
    special: Dict[str, List[bytes]] = {"users": [], "roles": []}
    oplog: List[bytes] = []
    finished_data = False

    def finish_data() -> None:
        inserter.wait()
        for t in collections:
            specs = index_specs(t.metadata)
            if specs:
                client[t.db].command("createIndexes", t.collection, indexes=specs)
        for t in report.namespaces:
            if t.kind == "view":
                options = t.metadata.get("options") or {}
                extra = {"collation": options["collation"]} if "collation" in options else {}
                client[t.db].command(
                    "create",
                    t.collection,
                    viewOn=options.get("viewOn"),
                    pipeline=options.get("pipeline", []),
                    **extra,
                )
            t.data_done = True

    try:
        try:
            for event in reader.events():
                target = targets.get(f"{event.entry.db}.{event.entry.data_collection(reader.version)}")
                if target is None:
                    continue
                if event.kind == "eof":
                    target.archive_complete = True
                    continue
                target.archive_documents += len(event.documents)
                if target.kind in ("users", "roles"):
                    special[target.kind].extend(event.documents)
                elif target.kind == "oplog":
                    if not finished_data:
                        finish_data()
                        finished_data = True
                    oplog.extend(event.documents)
                    if len(oplog) >= OPLOG_BATCH:
                        report.oplog_entries_applied += apply_oplog(client, oplog, plan)
                        oplog = []
                else:
                    physical = event.entry.data_collection(reader.version)
                    if target.kind == "timeseries":
                        physical = physical.replace(event.entry.collection, target.collection, 1)
                    else:
                        physical = target.collection
                    inserter.submit(target, physical, event.documents)
        except ArchiveError as exc:
            inserter.wait()
            raise RestoreFailed(str(exc), report) from None
        report.verified = True
        if not finished_data:
            finish_data()
        if oplog:
            report.oplog_entries_applied += apply_oplog(client, oplog, plan)
        if special["users"] or special["roles"]:
            merge_users_and_roles(client, special["users"], special["roles"], plan.drop)
    finally:
        inserter.close()
    report.duration_seconds = round(time.monotonic() - clock, 3)
    return report


def apply_oplog(client: Any, entries: List[bytes], plan: RestorePlan) -> int:
    """Replay oplog entries with ``applyOps`` (no-ops and config/system entries are skipped)."""
    selected = NamespaceFilter(plan.include, plan.exclude)
    batch = []
    for raw in entries:
        entry = bson.decode(raw, codec_options=bson.CodecOptions(document_class=SON))
        ns = str(entry.get("ns", ""))
        if entry.get("op") == "n" or ns.startswith(("config.", "admin.system.", "local.")):
            continue
        if entry.get("op") != "c" and not selected.selects(ns):
            continue
        batch.append(RawBSONDocument(raw))
    if batch:
        try:
            client.admin.command("applyOps", batch)
        except Exception as exc:
            raise OffsiteError(
                f"oplog replay failed on {plan.where}: {' '.join(str(exc).split())[:300]}"
            ) from None
    return len(batch)


def merge_users_and_roles(client: Any, users: List[bytes], roles: List[bytes], drop: bool) -> None:
    """Restore users and roles the way mongorestore does: temporary collections, then _mergeAuthzCollections."""
    admin = client.admin
    for name, docs in ((TEMP_USERS, users), (TEMP_ROLES, roles)):
        admin.drop_collection(name)
        if docs:
            admin[name].insert_many([RawBSONDocument(d) for d in docs])
    try:
        admin.command(
            SON(
                [
                    ("_mergeAuthzCollections", 1),
                    ("tempUsersCollection", f"admin.{TEMP_USERS}"),
                    ("tempRolesCollection", f"admin.{TEMP_ROLES}"),
                    ("db", ""),
                    ("drop", drop),
                ]
            )
        )
    finally:
        admin.drop_collection(TEMP_USERS)
        admin.drop_collection(TEMP_ROLES)


def restore_from_file(
    client_factory: Callable[[], Any],
    src: str,
    plan: RestorePlan,
    *,
    expected_sha256: Optional[str] = None,
    engine: str = "auto",
    mongorestore: Optional[Callable[[Any, Any, RestorePlan], RestoreReport]] = None,
) -> Dict[str, Any]:
    """Restore the archive file ``src``; the module's result. ``expected_sha256`` is checked before any write."""
    from ansible_collections.offsite.mongodb.plugins.module_utils import archive_file  # noqa: PLC0415

    plan.check()
    if not os.path.isfile(src):
        raise OffsiteError(f"src {src} is not a file: give the path of an archive")
    if expected_sha256:
        actual = archive_file.file_sha256(src)
        if actual != expected_sha256.strip().lower():
            raise OffsiteError(
                f"src {src} has SHA-256 {actual}, not the expected {expected_sha256}: the file is damaged or not "
                "the backup you meant; fetch it again"
            )
    chosen = "mongorestore" if engine == "mongorestore" else "native"
    client = None if plan.check_only else client_factory()
    try:
        with open(src, "rb") as handle:
            source = archive_file.HashingReader(handle)
            try:
                if chosen == "mongorestore" and not plan.check_only:
                    report = mongorestore(client, source, plan)
                else:
                    report = restore_archive(client, source, plan)
            except RestoreFailed as failure:
                failure.report.verified = False
                raise
            source.drain()
    finally:
        if client is not None:
            client.close()
    result = report.to_result(check_only=plan.check_only)
    changed = not plan.check_only and bool(
        report.namespaces or report.dropped or report.oplog_entries_applied
    )
    result.update(changed=changed, src=os.path.abspath(src), sha256=source.sha256, engine=chosen)
    return result
