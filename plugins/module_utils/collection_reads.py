"""Reading collections as raw BSON batches (never decoded): plain cursors, or all at one snapshot cluster time.

A reply's batch is a BSON array of documents. pymongo's ``find_raw_batches`` turns it into the documents'
bytes by decoding the reply with an object per document (about 4 µs each: most of a dump's CPU). Read as
a raw array (bson's ``_RawArrayBSONDocument``), the same bytes come from one call of bson's own
``_array_of_documents_to_buffer`` per reply, the function pymongo calls after its decode: a read costs a
quarter of the CPU. Both are private to bson, so they are used only when present (else every read goes
the public way), and only on a connection to one server, where ``find`` and every ``getMore`` of a
cursor reach the same node (``find_raw_batches`` pins its server itself; plain commands would not).
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator, Optional, Tuple

try:
    from bson.codec_options import CodecOptions
    from bson.raw_bson import RawBSONDocument
    from bson.son import SON
    from bson.timestamp import Timestamp
    from pymongo.errors import ConfigurationError

    RAW = CodecOptions(document_class=RawBSONDocument)
except (
    ImportError
):  # pragma: no cover - hosts without pymongo fail in mongo_connection.connect with a clear message
    RawBSONDocument = SON = Timestamp = RAW = ConfigurationError = None

try:  # bson's raw arrays (private, pymongo 4.x); without them replies are joined document by document
    from bson import _array_of_documents_to_buffer
    from bson.raw_bson import _RawArrayBSONDocument

    RAW_ARRAYS: Optional[CodecOptions] = CodecOptions(document_class=_RawArrayBSONDocument)
except ImportError:  # pragma: no cover - depends on the pymongo release
    _array_of_documents_to_buffer = None
    RAW_ARRAYS = None

from ansible_collections.offsite.mongodb.plugins.module_utils.dump_plan import DumpNamespace
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.mongo_connection import server_message

SNAPSHOT_TOO_OLD = (239, 246)  # SnapshotTooOld, SnapshotUnavailable


def _documents(batch: Any) -> bytes:
    """A reply's batch as its documents' bytes, concatenated: a raw array in one call, else document by document."""
    if isinstance(batch, (bytes, memoryview)):
        return _array_of_documents_to_buffer(batch)
    return b"".join(doc.raw for doc in batch)


def _run_cursor_command(database: Any, command: SON, session: Any, key: str) -> Tuple[bytes, Any]:
    """(the reply's documents, the cursor id to go on with); nothing else of the reply outlives the call."""
    reply = database.command(command, session=session, codec_options=RAW_ARRAYS or RAW)
    cursor = reply["cursor"]
    return _documents(cursor[key]), cursor["id"]


def command_cursor_batches(client: Any, db: str, command: SON, session: Any = None) -> Iterator[bytes]:
    """Raw document batches of a ``find`` run as a command, then ``getMore`` until the cursor is done.

    Only the batch being handed out is held here (not the reply around it, nor the batch before it
    while the next is fetched), and a cursor left early is killed.
    """
    database = client.get_database(db, codec_options=RAW)
    batch, cursor_id = _run_cursor_command(database, command, session, "firstBatch")
    collection = command["find"]
    get_more = SON([("getMore", cursor_id), ("collection", collection)])
    if command.get("batchSize"):
        get_more["batchSize"] = command["batchSize"]
    try:
        while True:
            if batch:
                yield batch
            batch = b""
            if not cursor_id:
                return
            get_more["getMore"] = cursor_id
            batch, cursor_id = _run_cursor_command(database, get_more, session, "nextBatch")
    finally:
        if cursor_id:  # a failure here is not the read's: the server drops an idle cursor by itself
            with contextlib.suppress(Exception):
                database.command("killCursors", collection, cursors=[cursor_id], session=session)


def find_command(item: DumpNamespace, batch_size: Optional[int]) -> SON:
    """The ``find`` of a namespace's documents (its dump query, if any), ``batch_size`` documents a reply."""
    command = SON([("find", item.data_collection), ("filter", item.query or {})])
    if batch_size:
        command["batchSize"] = batch_size
    return command


def one_server(client: Any) -> bool:
    """Whether every command of ``client`` reaches the same node (a direct connection, the modules' default)."""
    description = getattr(client, "topology_description", None)
    return getattr(description, "topology_type_name", None) == "Single"


class CollectionReader:
    """Reads a collection's documents as raw batches: by ``find``/``getMore`` commands in one session on a
    connection to one server (with raw arrays where bson has them), else with ``find_raw_batches``."""

    def __init__(self, client: Any, batch_size: Optional[int] = None) -> None:
        self.client = client
        self.batch_size = batch_size
        self.at_cluster_time: Optional[Timestamp] = None
        self._sessions: Optional[bool] = None  # whether explicit sessions work here (learnt once)

    def batches(self, item: DumpNamespace, batch_size: Optional[int] = None) -> Iterator[bytes]:
        """The collection's documents in raw batches of ``batch_size`` documents (else the reader's, else the server's)."""
        batch_size = batch_size or self.batch_size
        if RAW_ARRAYS is not None and one_server(self.client):
            command = find_command(item, batch_size)
            with self._session() as session:
                yield from command_cursor_batches(self.client, item.db, command, session)
            return
        collection = self.client.get_database(item.db, codec_options=RAW)[item.data_collection]
        kwargs = {"batch_size": batch_size} if batch_size else {}
        cursor = collection.find_raw_batches(item.query or {}, **kwargs)
        try:
            yield from cursor
        finally:
            cursor.close()

    def _session(self) -> Any:
        """An explicit session keeps find and getMore together; none where pymongo offers none.

        On a direct connection to a hidden member (which pymongo types RSOther, not readable) pymongo
        refuses explicit sessions; the server continues a cursor opened without one just as well.
        """
        if self._sessions is False:
            return contextlib.nullcontext()
        session = None
        try:
            session = self.client.start_session(causal_consistency=False)
            if self._sessions is None:
                self.client.admin.command("ping", session=session)
                self._sessions = True
        except ConfigurationError:
            if session is not None:
                session.end_session()
            self._sessions = False
            return contextlib.nullcontext()
        return session


class SnapshotReader(CollectionReader):
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
                f"{where} refused one ({server_message(exc)})"
            ) from None
        at = (reply.get("cursor") or {}).get("atClusterTime")
        if not isinstance(at, Timestamp):
            raise OffsiteError(
                f"consistency=snapshot needs snapshot reads, but {where} gave no atClusterTime "
                "(not a replica set, or a MongoDB stand-in): use consistency none, lock or oplog"
            )
        self.at_cluster_time = at
        return at

    def batches(self, item: DumpNamespace, batch_size: Optional[int] = None) -> Iterator[bytes]:
        command = find_command(item, batch_size or self.batch_size)
        command["readConcern"] = SON([("level", "snapshot"), ("atClusterTime", self.at_cluster_time)])
        with self._session() as session:
            try:
                yield from command_cursor_batches(self.client, item.db, command, session)
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
