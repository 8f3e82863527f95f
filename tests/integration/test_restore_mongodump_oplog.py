"""Oplog replay from an archive written the way ``mongodump --oplog`` writes it (docs/mongodump-formats.md §2.8:
the namespace ``db ""``, collection ``oplog``, last in the archive), restored into a running replica set."""

from __future__ import annotations

import datetime
import io
import uuid

import bson
from bson.binary import Binary, UuidRepresentation
from bson.int64 import Int64
from bson.son import SON
from bson.timestamp import Timestamp

from ansible_collections.offsite.mongodb.plugins.module_utils.archive_format import (
    OPLOG_COLLECTION,
    ArchiveHeader,
    PreludeEntry,
    metadata_json,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.archive_writer import ArchiveWriter
from ansible_collections.offsite.mongodb.plugins.module_utils.restore import restore_archive
from ansible_collections.offsite.mongodb.plugins.module_utils.restore_plan import RestorePlan


def oplog_entry(seconds: int, op: str, ns: str, o: dict, *, ui=None, o2=None) -> bytes:
    """One entry shaped as mongod writes it: op, ns, ui, o, o2, ts, t, v, wall."""
    entry = SON([("op", op), ("ns", ns)])
    if ui is not None:
        entry["ui"] = ui
    entry["o"] = o
    if o2 is not None:
        entry["o2"] = o2
    entry.update(ts=Timestamp(seconds, 1), t=Int64(1), v=Int64(2), wall=datetime.datetime(2026, 1, 1))
    return bson.encode(entry)


def mongodump_style_archive(database: str) -> bytes:
    """A gzip-less archive with one collection and an oplog whose entries name the source's collection UUID."""
    source_uuid = uuid.uuid4()
    ui = Binary.from_uuid(source_uuid, UuidRepresentation.STANDARD)
    ns = f"{database}.things"
    metadata = {
        "indexes": [{"v": 2, "key": {"_id": 1}, "name": "_id_"}],
        "uuid": source_uuid.hex,
        "collectionName": "things",
        "type": "collection",
    }
    out = io.BytesIO()
    writer = ArchiveWriter(out)
    writer.write_prelude(
        ArchiveHeader("7.0.12", "100.9.4", concurrent_collections=1),
        [
            PreludeEntry(database, "things", metadata_json(metadata), "collection"),
            PreludeEntry("", OPLOG_COLLECTION, "", ""),  # mongodump's oplog entry: db "", metadata "", last
        ],
    )
    data = writer.namespace(database, "things")
    data.write(b"".join(bson.encode({"_id": i, "v": 0}) for i in range(10)))
    data.close()
    oplog = writer.namespace("", OPLOG_COLLECTION)
    entries = [
        oplog_entry(100, "i", ns, {"_id": 10, "v": 0}, ui=ui),
        oplog_entry(101, "u", ns, {"$v": 2, "diff": {"u": {"v": 7}}}, ui=ui, o2={"_id": 0}),
        oplog_entry(102, "d", ns, {"_id": 1}, ui=ui),
        oplog_entry(103, "n", "", {"msg": "periodic noop"}),
        oplog_entry(104, "i", "config.system.sessions", {"_id": "skipped as mongorestore skips it"}),
        oplog_entry(
            105, "c", "admin.$cmd", {"applyOps": [{"op": "i", "ns": ns, "ui": ui, "o": {"_id": 11, "v": 0}}]}
        ),
    ]
    oplog.write(b"".join(entries))
    oplog.close()
    writer.finish()
    return out.getvalue()


def test_replays_the_oplog_of_a_mongodump_style_archive(replica_set):
    database = f"mdo_{uuid.uuid4().hex[:8]}"
    archive = mongodump_style_archive(database)
    with replica_set.client("primary") as client:
        report = restore_archive(client, io.BytesIO(archive), RestorePlan(oplog_replay=True, where="primary"))
        documents = {doc["_id"]: doc["v"] for doc in client[database].things.find()}
        sessions = client.config["system.sessions"].count_documents(
            {"_id": "skipped as mongorestore skips it"}
        )
    assert (
        report.oplog_entries_applied == 4
    )  # insert, update, delete, the nested batch; not the no-op or config
    assert documents == {0: 7, **{i: 0 for i in range(2, 12)}}
    assert sessions == 0
