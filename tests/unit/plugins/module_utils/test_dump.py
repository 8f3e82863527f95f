"""Dump logic that the stand-in cannot show: consistency prerequisites, snapshot time, oplog window."""

from __future__ import annotations

import io

import bson
import pytest
from bson import SON, Timestamp

from ansible_collections.offsite.mongodb.plugins.module_utils import dump
from ansible_collections.offsite.mongodb.plugins.module_utils.archive import (
    ArchiveHeader,
    ArchiveWriter,
    PreludeEntry,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError


class FakeAdmin:
    def __init__(self, replies):
        self.replies = replies
        self.commands = []

    def command(self, command, *args, **kwargs):
        self.commands.append(command)
        reply = self.replies.get(next(iter(command)) if isinstance(command, dict) else command)
        if isinstance(reply, Exception):
            raise reply
        return reply


class FakeClient:
    def __init__(self, replies=None):
        self.admin = FakeAdmin(replies or {})


def test_oplog_needs_a_replica_set_member():
    plan = dump.DumpPlan(consistency="oplog", where="db1:27017")
    with pytest.raises(
        OffsiteError, match=r"^consistency=oplog needs a replica-set member: db1:27017 is a standalone"
    ):
        dump.check_consistency(FakeClient(), plan, "standalone", (7, 0, 0))
    assert dump.check_consistency(FakeClient(), plan, "secondary", (7, 0, 0)) == []


def test_snapshot_needs_mongodb_5():
    plan = dump.DumpPlan(consistency="snapshot", where="db1:27017")
    with pytest.raises(OffsiteError, match=r"needs MongoDB 5.0 or newer: db1:27017 runs 4.4.9"):
        dump.check_consistency(FakeClient(), plan, "primary", (4, 4, 9))


def test_lock_mode_warns_when_the_node_is_not_locked():
    plan = dump.DumpPlan(consistency="lock", where="db1")
    assert (
        "does not report an fsync lock"
        in dump.check_consistency(FakeClient({"currentOp": {}}), plan, "secondary", (7, 0))[0]
    )
    locked = FakeClient({"currentOp": {"fsyncLock": True}})
    assert dump.check_consistency(locked, plan, "secondary", (7, 0)) == []


def test_snapshot_start_takes_the_servers_cluster_time():
    at = Timestamp(1700000000, 7)
    client = FakeClient({"find": {"cursor": {"id": 0, "firstBatch": [], "atClusterTime": at}, "ok": 1}})
    reads = dump.SnapshotReads(client)
    assert reads.start("db1") == at and reads.at_cluster_time == at
    sent = client.admin.commands[0]
    assert sent["readConcern"] == {"level": "snapshot"}


def test_snapshot_start_without_cluster_time_is_a_clear_error():
    client = FakeClient({"find": {"cursor": {"id": 0, "firstBatch": []}, "ok": 1}})
    with pytest.raises(OffsiteError, match="gave no atClusterTime"):
        dump.SnapshotReads(client).start("db1")


class FakeOplog:
    def __init__(self, entries):
        self.entries = entries

    def find_one(self, *args, **kwargs):
        return {"ts": self.entries[-1]["ts"]} if self.entries else None

    def find_raw_batches(self, query):
        low, high = query["ts"]["$gte"], query["ts"]["$lte"]
        docs = [bson.encode(e) for e in self.entries if low <= e["ts"] <= high]
        return FakeCursor([b"".join(docs[:2]), b"".join(docs[2:])] if docs else [])


class FakeCursor(list):
    def close(self):
        pass


def oplog_writer():
    writer = ArchiveWriter(io.BytesIO())
    writer.write_prelude(ArchiveHeader("7.0.0", "t"), [PreludeEntry("", "oplog")])
    return writer.namespace("", "oplog")


def test_oplog_window_is_captured_from_the_start_position():
    entries = [
        SON([("ts", Timestamp(100, i)), ("op", "i"), ("ns", "a.b"), ("o", {"_id": i})]) for i in range(1, 6)
    ]
    capture = dump.OplogCapture.__new__(dump.OplogCapture)
    capture.oplog = FakeOplog(entries[:2])
    capture.begin("db1")
    capture.oplog.entries = entries  # writes happen during the dump
    result = capture.write(oplog_writer(), "db1")
    assert result == {"first": {"t": 100, "i": 2}, "last": {"t": 100, "i": 5}, "count": 4}


def test_oplog_rollover_during_the_dump_fails():
    entries = [SON([("ts", Timestamp(100, i)), ("op", "n"), ("o", {})]) for i in range(1, 6)]
    capture = dump.OplogCapture.__new__(dump.OplogCapture)
    capture.oplog = FakeOplog(entries[:2])
    capture.begin("db1")
    capture.oplog.entries = entries[3:]  # the start entry was overwritten
    with pytest.raises(OffsiteError, match="oplog rolled over"):
        capture.write(oplog_writer(), "db1")


def test_empty_oplog_is_refused():
    capture = dump.OplogCapture.__new__(dump.OplogCapture)
    capture.oplog = FakeOplog([])
    with pytest.raises(OffsiteError, match="consistency=oplog needs a replica-set member with an oplog"):
        capture.begin("db1")
