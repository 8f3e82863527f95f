"""The native dumper: what to dump, and raw BSON from many collections at once into one archive.

``plan_namespaces`` lists the namespaces mongodump would dump (with their metadata.json content);
``dump_archive(client, sink, plan)`` reads them as raw BSON batches (never decoded), several
collections in parallel, through the archive writer and the compressor into ``sink``. Consistency:
``none``; ``lock`` (the node is fsync-locked by the caller: reads only); ``oplog`` (the oplog written
during the dump is appended, for replay); ``snapshot`` (every read at one cluster time, 5.0+).
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Tuple

try:
    import bson
    from bson import json_util
    from bson.codec_options import CodecOptions
    from bson.raw_bson import RawBSONDocument
    from bson.son import SON
    from bson.timestamp import Timestamp

    RAW = CodecOptions(document_class=RawBSONDocument)
    ORDERED = CodecOptions(document_class=SON)
except ImportError:  # pragma: no cover - hosts without pymongo fail in mongo.connect with a clear message
    bson = json_util = RawBSONDocument = SON = Timestamp = RAW = ORDERED = None

from ansible_collections.offsite.mongodb.plugins.module_utils import fsync_lock
from ansible_collections.offsite.mongodb.plugins.module_utils.archive import (
    MAX_OPLOG_DOCUMENT,
    OPLOG_COLLECTION,
    ArchiveHeader,
    ArchiveWriter,
    NamespaceWriter,
    PreludeEntry,
    iter_document_lengths,
    metadata_json,
    parse_server_version,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.checksum import warn_if_slow
from ansible_collections.offsite.mongodb.plugins.module_utils.compression import compressing_writer
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.mongo import describe_node
from ansible_collections.offsite.mongodb.plugins.module_utils.namespaces import NamespaceFilter

CONSISTENCIES = ("none", "lock", "oplog", "snapshot")
TOOL_VERSION = "offsite.mongodb-0.1.0"
SPECIAL = ("admin.system.users", "admin.system.roles", "admin.system.version")
SKIPPED_DATABASES = ("local", "config")
SNAPSHOT_MIN_VERSION = (5, 0, 0)
SNAPSHOT_TOO_OLD = (239, 246)  # SnapshotTooOld, SnapshotUnavailable


@dataclass
class DumpPlan:
    """What to dump and how (module options, validated by ``check``)."""

    databases: List[str] = field(default_factory=list)
    include: List[str] = field(default_factory=list)
    exclude: List[str] = field(default_factory=list)
    query: Dict[str, Any] = field(default_factory=dict)  # namespace -> filter (document or Extended JSON)
    parallel_collections: int = 4
    consistency: str = "none"
    compression: str = "gzip"
    compression_level: Optional[int] = None
    batch_size: Optional[int] = None
    where: str = "the server"  # for messages (no credentials)

    def check(self) -> None:
        if self.consistency not in CONSISTENCIES:
            raise OffsiteError(
                f"consistency must be one of {', '.join(CONSISTENCIES)}, got {self.consistency!r}"
            )
        if not 1 <= int(self.parallel_collections) <= 100:
            raise OffsiteError(
                f"parallel_collections must be between 1 and 100, got {self.parallel_collections}"
            )
        NamespaceFilter(self.include, self.exclude)
        for ns in self.query:
            parse_query(ns, self.query[ns])


def parse_query(ns: str, value: Any) -> Mapping[str, Any]:
    """A ``query`` value (Extended JSON text or a document) as a filter document."""
    if isinstance(value, Mapping):
        return json_util.loads(json_util.dumps(value))  # turns {"$oid": ...} and friends into BSON values
    try:
        parsed = json_util.loads(str(value))
    except ValueError as exc:
        raise OffsiteError(f"query for {ns} is not valid Extended JSON: {exc}") from None
    if not isinstance(parsed, Mapping):
        raise OffsiteError(f"query for {ns} must be a JSON object")
    return parsed


@dataclass
class Collection:
    """One namespace to dump: the name users see, its type, metadata and where its data lives."""

    db: str
    name: str
    type: str
    metadata: Dict[str, Any]
    data_collection: str
    count: int = 0
    size: int = 0
    query: Optional[Mapping[str, Any]] = None

    @property
    def ns(self) -> str:
        return f"{self.db}.{self.name}"

    def entry(self) -> PreludeEntry:
        return PreludeEntry(self.db, self.name, metadata_json(self.metadata), self.type)


@dataclass
class NamespaceResult:
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


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def version_string(version: Tuple[int, ...]) -> str:
    """``X.Y.Z`` (what mongorestore needs in the archive header)."""
    parts = [*list(version[:3]), 0, 0, 0][:3]
    return ".".join(str(int(part)) for part in parts)


def _uuid_hex(value: Any) -> Optional[str]:
    if value is None:
        return None
    if isinstance(value, bson.Binary):
        text = bytes(value).hex()
        return text if text != "0" * 32 else None
    hex_value = getattr(value, "hex", None)
    if isinstance(hex_value, str):  # uuid.UUID
        return hex_value
    text = str(value).replace("-", "").lower()
    return text if len(text) == 32 and text != "0" * 32 else None  # stand-ins report all zeros


def _dumped(db: str, name: str) -> bool:
    """mongodump's rule for which collections of a database are dumped."""
    if "$" in name:
        return False
    if db == "admin":
        return name != "system.keys"
    return not name.startswith("system.") or name == "system.js"


def collection_metadata(spec: Mapping[str, Any], indexes: List[Any]) -> Dict[str, Any]:
    """The metadata.json document mongodump 100.x writes for a ``listCollections`` entry."""
    metadata: Dict[str, Any] = SON()
    options = spec.get("options") or {}
    if options:
        metadata["options"] = options
    metadata["indexes"] = indexes
    uuid = _uuid_hex((spec.get("info") or {}).get("uuid"))
    if uuid and spec.get("type", "collection") == "collection":
        metadata["uuid"] = uuid
    metadata["collectionName"] = spec["name"]
    metadata["type"] = spec.get("type", "collection")
    return metadata


def list_databases(client: Any, plan: DumpPlan) -> List[str]:
    if plan.databases:
        return list(plan.databases)
    names = client.list_database_names()
    return [n for n in names if n not in SKIPPED_DATABASES and not n.startswith("__mdb_internal")]


def plan_namespaces(
    client: Any, plan: DumpPlan, version: Optional[Tuple[int, int, int]], sizes: bool = False
) -> List[Collection]:
    """The namespaces to dump, admin users/roles/version first, then the largest collections first."""
    selected = NamespaceFilter(plan.include, plan.exclude)
    collections: List[Collection] = []
    viewless = version is not None and version >= (8, 3, 0)
    for db_name in list_databases(client, plan):
        database = client.get_database(db_name, codec_options=ORDERED)
        for spec in database.list_collections():
            name, kind = spec["name"], spec.get("type", "collection")
            if not _dumped(db_name, name) or not selected.selects(f"{db_name}.{name}"):
                continue
            indexes = [] if kind == "view" else list(database[name].list_indexes())
            data = f"system.buckets.{name}" if kind == "timeseries" and not viewless else name
            item = Collection(db_name, name, kind, collection_metadata(spec, indexes), data)
            if kind != "view":
                item.count = _estimated_count(database, data)
                if sizes:
                    item.size = _data_size(database, data)
            collections.append(item)
    known = {item.ns for item in collections}
    for ns in plan.query:
        if ns not in known:
            raise OffsiteError(
                f"query names {ns}, which is not among the dumped namespaces: fix the namespace"
            )
    for item in collections:
        if item.ns in plan.query:
            item.query = parse_query(item.ns, plan.query[item.ns])
    special = [item for name in SPECIAL for item in collections if item.ns == name]
    others = sorted((item for item in collections if item.ns not in SPECIAL), key=lambda item: -item.count)
    return special + others


def _estimated_count(database: Any, name: str) -> int:
    try:
        return int(database[name].estimated_document_count())
    except Exception:
        return 0


def _data_size(database: Any, name: str) -> int:
    try:
        return int(database.command("collStats", name).get("size", 0))
    except Exception:
        return 0


# -- reading -----------------------------------------------------------------------------------------
def _cursor_batches(client: Any, db: str, command: SON, session: Any = None) -> Iterator[bytes]:
    """Raw document batches of a ``find`` run as a command (for options ``find_raw_batches`` lacks)."""
    database = client.get_database(db, codec_options=RAW)
    reply = database.command(command, session=session, codec_options=RAW)
    cursor = reply["cursor"]
    batch = cursor["firstBatch"]
    if batch:
        yield b"".join(doc.raw for doc in batch)
    cursor_id, collection = cursor["id"], command["find"]
    try:
        while cursor_id:
            reply = database.command(
                SON([("getMore", cursor_id), ("collection", collection)]), session=session, codec_options=RAW
            )
            cursor = reply["cursor"]
            cursor_id = cursor["id"]
            batch = cursor["nextBatch"]
            if batch:
                yield b"".join(doc.raw for doc in batch)
    finally:
        if cursor_id:
            database.command("killCursors", collection, cursors=[cursor_id], session=session)


class Reads:
    """How documents are read: plain cursors, or at one snapshot cluster time."""

    def __init__(self, client: Any, batch_size: Optional[int] = None) -> None:
        self.client = client
        self.batch_size = batch_size
        self.at_cluster_time: Optional[Timestamp] = None

    def batches(self, item: Collection) -> Iterator[bytes]:
        collection = self.client.get_database(item.db, codec_options=RAW)[item.data_collection]
        kwargs = {"batch_size": self.batch_size} if self.batch_size else {}
        cursor = collection.find_raw_batches(item.query or {}, **kwargs)
        try:
            yield from cursor
        finally:
            cursor.close()


class SnapshotReads(Reads):
    """Every ``find`` at the same ``atClusterTime`` (readConcern snapshot, MongoDB 5.0+)."""

    def start(self, where: str) -> Timestamp:
        """Open the snapshot: the server picks the cluster time on a first snapshot read."""
        command = SON(
            [("find", "system.version"), ("filter", {}), ("limit", 1), ("readConcern", {"level": "snapshot"})]
        )
        try:
            reply = self.client.admin.command(command)
        except Exception as exc:
            raise OffsiteError(
                f"consistency=snapshot needs a replica set or sharded cluster on MongoDB 5.0+ with snapshot reads: "
                f"{where} refused one ({_errmsg(exc)})"
            ) from None
        at = (reply.get("cursor") or {}).get("atClusterTime")
        if not isinstance(at, Timestamp):
            raise OffsiteError(
                f"consistency=snapshot needs snapshot reads, but {where} gave no atClusterTime "
                "(not a replica set, or a MongoDB stand-in): use consistency none, lock or oplog"
            )
        self.at_cluster_time = at
        return at

    def batches(self, item: Collection) -> Iterator[bytes]:
        command = SON([("find", item.data_collection), ("filter", item.query or {})])
        if self.batch_size:
            command["batchSize"] = self.batch_size
        command["readConcern"] = SON([("level", "snapshot"), ("atClusterTime", self.at_cluster_time)])
        with self.client.start_session(causal_consistency=False) as session:
            try:
                yield from _cursor_batches(self.client, item.db, command, session)
            except OffsiteError:
                raise
            except Exception as exc:
                if getattr(exc, "code", None) in SNAPSHOT_TOO_OLD:
                    raise OffsiteError(
                        f"consistency=snapshot: reading {item.ns} at {self.at_cluster_time} failed because the "
                        "dump outlasted the server's snapshot history window: raise minSnapshotHistoryWindowInSeconds "
                        "or use consistency oplog"
                    ) from None
                raise


def _errmsg(exc: Exception) -> str:
    details = getattr(exc, "details", None) or {}
    return " ".join(str(details.get("errmsg") or exc).split())


# -- oplog -------------------------------------------------------------------------------------------
def _ts_dict(ts: Timestamp) -> Dict[str, int]:
    return {"t": ts.time, "i": ts.inc}


class OplogCapture:
    """The oplog window of a dump: position before it, entries written during it."""

    def __init__(self, client: Any) -> None:
        self.oplog = client.get_database("local", codec_options=RAW)["oplog.rs"]
        self.start: Optional[Timestamp] = None

    def last_timestamp(self, where: str) -> Timestamp:
        doc = self.oplog.find_one({}, sort=[("$natural", -1)], projection={"ts": 1})
        ts = doc["ts"] if doc is not None else None
        if not isinstance(ts, Timestamp):
            raise OffsiteError(
                f"consistency=oplog needs a replica-set member with an oplog: {where} has no entries in local.oplog.rs"
            )
        return ts

    def begin(self, where: str) -> Timestamp:
        self.start = self.last_timestamp(where)
        return self.start

    def write(self, stream: NamespaceWriter, where: str) -> Dict[str, Any]:
        """Append the entries from the start position to now; fails if the oplog rolled over meanwhile."""
        end = self.last_timestamp(where)
        first: Optional[Timestamp] = None
        last: Optional[Timestamp] = None
        count = 0
        cursor = self.oplog.find_raw_batches({"ts": {"$gte": self.start, "$lte": end}})
        try:
            for batch in cursor:
                lengths = list(iter_document_lengths(batch, MAX_OPLOG_DOCUMENT))
                if first is None:
                    first = bson.decode(batch[: lengths[0]])["ts"]
                    if first != self.start:
                        raise OffsiteError(
                            f"the oplog rolled over during the dump (its oldest entry is past the start {self.start}): "
                            "make the oplog larger or dump less at a time"
                        )
                last = bson.decode(batch[sum(lengths[:-1]) :])["ts"]
                count += stream.write(batch)
        finally:
            cursor.close()
        if first is None:
            raise OffsiteError(
                f"the oplog rolled over during the dump (the start entry {self.start} is gone): make the oplog larger"
            )
        return {"first": _ts_dict(first), "last": _ts_dict(last), "count": count}


# -- the dump ----------------------------------------------------------------------------------------
def check_consistency(client: Any, plan: DumpPlan, kind: str, version: Tuple[int, ...]) -> List[str]:
    """One-line errors for servers that cannot give the asked consistency; warnings for doubtful ones."""
    if plan.consistency == "oplog" and kind not in ("primary", "secondary"):
        raise OffsiteError(
            f"consistency=oplog needs a replica-set member: {plan.where} is a {kind}; "
            "dump a member of the replica set, or use consistency lock or none"
        )
    if plan.consistency == "snapshot" and tuple(version[:3]) < SNAPSHOT_MIN_VERSION:
        raise OffsiteError(
            f"consistency=snapshot needs MongoDB 5.0 or newer: {plan.where} runs {version_string(version)}; "
            "use consistency oplog or lock"
        )
    if plan.consistency == "lock":
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


def dump_archive(  # noqa: PLR0915 - one pipeline, read top to bottom
    client: Any, sink: Any, plan: DumpPlan, progress: Optional[Callable[[str, int], None]] = None
) -> DumpReport:
    """Dump into ``sink`` (anything with ``.write``); the sink is not closed. Returns what was written."""
    plan.check()
    warn_if_slow()
    started, clock = utc_now(), time.monotonic()
    node = describe_node(client)
    server_version = version_string(node.version)
    version = parse_server_version(server_version)
    warnings = check_consistency(client, plan, node.kind, node.version)
    reads: Reads = Reads(client, plan.batch_size)
    oplog: Optional[OplogCapture] = None
    if plan.consistency == "oplog":
        oplog = OplogCapture(client)
        oplog.begin(plan.where)
    if plan.consistency == "snapshot":
        reads = SnapshotReads(client, plan.batch_size)
        reads.start(plan.where)
    collections = plan_namespaces(client, plan, version)
    entries = [item.entry() for item in collections]
    if oplog is not None:
        entries.append(PreludeEntry("", OPLOG_COLLECTION, "", ""))
    compressor = compressing_writer(sink, plan.compression, plan.compression_level)
    writer = ArchiveWriter(compressor)
    header = ArchiveHeader(server_version, TOOL_VERSION, concurrent_collections=plan.parallel_collections)
    writer.write_prelude(header, entries)
    results: Dict[str, NamespaceResult] = {}
    stop = threading.Event()

    def dump_one(item: Collection) -> None:
        stream = writer.namespace(item.db, item.data_collection)
        if item.type != "view":
            for batch in reads.batches(item):
                if stop.is_set():
                    return
                stream.write(batch)
                if progress:
                    progress(item.ns, len(batch))
        totals = stream.close()
        results[item.ns] = NamespaceResult(item.ns, item.type, totals.documents, totals.bytes)

    special = [item for item in collections if item.ns in SPECIAL]
    for item in special:
        dump_one(item)
    ordinary = [item for item in collections if item.ns not in SPECIAL]
    with ThreadPoolExecutor(max_workers=plan.parallel_collections, thread_name_prefix="dump") as pool:
        futures = [pool.submit(dump_one, item) for item in ordinary]
        done, _pending = wait(futures, return_when=FIRST_EXCEPTION)
        failed = [f for f in done if f.exception() is not None]
        if failed:
            stop.set()
            for future in futures:
                future.cancel()
            raise failed[0].exception()
    oplog_result = None
    if oplog is not None:
        stream = writer.namespace("", OPLOG_COLLECTION)
        oplog_result = oplog.write(stream, plan.where)
        stream.close()
    writer.finish()
    compressor.finish()
    return DumpReport(
        server_version=server_version,
        consistency=plan.consistency,
        compression=plan.compression,
        namespaces=[results[item.ns] for item in collections],
        oplog=oplog_result,
        started_at=started,
        finished_at=utc_now(),
        duration_seconds=round(time.monotonic() - clock, 3),
        warnings=warnings,
    )


def describe_plan(client: Any, plan: DumpPlan) -> Dict[str, Any]:
    """What a dump would write (namespaces with estimated documents and bytes), without writing: check mode."""
    node = describe_node(client)
    warnings = check_consistency(client, plan, node.kind, node.version)
    items = plan_namespaces(client, plan, parse_server_version(version_string(node.version)), sizes=True)
    return {
        "compression": plan.compression,
        "consistency": plan.consistency,
        "server_version": version_string(node.version),
        "namespaces": [{"ns": i.ns, "type": i.type, "documents": i.count, "bytes": i.size} for i in items],
        "documents": sum(i.count for i in items),
        "estimated": True,
        "warnings": warnings,
    }


# -- to a local file (what the module runs) -------------------------------------------------------------
def dump_to_file(
    client_factory: Callable[[], Any],
    dest: str,
    plan: DumpPlan,
    *,
    force: bool = False,
    check_mode: bool = False,
    engine: str = "auto",
    mongodump: Optional[Callable[[Any, DumpPlan], DumpReport]] = None,
) -> Dict[str, Any]:
    """Dump into ``dest`` atomically (mode 0600, SHA-256 inline, ``.sha256`` sidecar); the module's result.

    An existing ``dest`` whose sidecar matches its content is left alone (changed=false) unless ``force``.
    ``engine`` auto and native use this engine; ``mongodump`` is the callable that runs the Database Tools.
    """
    from ansible_collections.offsite.mongodb.plugins.module_utils import archive_file  # noqa: PLC0415

    plan.check()
    if os.path.exists(dest) and not force:
        recorded = archive_file.read_sidecar(dest)
        if recorded and recorded == archive_file.file_sha256(dest):
            return {"changed": False, "path": dest, "size": os.path.getsize(dest), "sha256": recorded,
                    "compression": plan.compression, "consistency": plan.consistency, "engine": engine,
                    "msg": "dest exists and matches its .sha256 sidecar: set force to dump again"}  # fmt: skip
        raise OffsiteError(
            f"dest {dest} exists and is not a verified archive of this module: set force: true to overwrite"
        )
    chosen = "mongodump" if engine == "mongodump" else "native"
    client = client_factory()
    try:
        if check_mode:
            return {"changed": True, "path": dest, "engine": chosen, **describe_plan(client, plan)}
        with archive_file.AtomicFile(dest) as sink:
            report = mongodump(sink, plan) if chosen == "mongodump" else dump_archive(client, sink, plan)
            sha256 = sink.commit()
    finally:
        client.close()
    result = report.to_result()
    result.update(changed=True, path=os.path.abspath(dest), size=sink.size, sha256=sha256, engine=chosen)
    result["warnings"] = report.warnings
    return result
