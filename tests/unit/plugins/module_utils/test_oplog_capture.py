"""The oplog window of a dump: from the position before it to the newest entry after it, or a rollover error."""

from __future__ import annotations

import io

import bson
import pytest
from bson import SON, Timestamp

from ansible_collections.offsite.mongodb.plugins.module_utils.archive_format import (
    ArchiveHeader,
    PreludeEntry,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.archive_writer import ArchiveWriter
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.oplog_capture import OplogCapture


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
    capture = OplogCapture.__new__(OplogCapture)
    capture.databases = frozenset()
    capture.oplog = FakeOplog(entries[:2])
    capture.begin("db1")
    capture.oplog.entries = entries  # writes happen during the dump
    result = capture.write(oplog_writer(), "db1")
    assert result == {"first": {"t": 100, "i": 2}, "last": {"t": 100, "i": 5}, "count": 4}


def test_oplog_rollover_during_the_dump_fails():
    entries = [SON([("ts", Timestamp(100, i)), ("op", "n"), ("o", {})]) for i in range(1, 6)]
    capture = OplogCapture.__new__(OplogCapture)
    capture.databases = frozenset()
    capture.oplog = FakeOplog(entries[:2])
    capture.begin("db1")
    capture.oplog.entries = entries[3:]  # the start entry was overwritten
    with pytest.raises(OffsiteError, match="oplog rolled over"):
        capture.write(oplog_writer(), "db1")


def test_empty_oplog_is_refused():
    capture = OplogCapture.__new__(OplogCapture)
    capture.oplog = FakeOplog([])
    with pytest.raises(OffsiteError, match="consistency=oplog needs a replica-set member with an oplog"):
        capture.begin("db1")
