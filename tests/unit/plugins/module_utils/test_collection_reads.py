"""Snapshot reads: one cluster time, taken from the server's first snapshot read."""

from __future__ import annotations

import bson
import pytest
from bson import Timestamp

from ansible_collections.offsite.mongodb.plugins.module_utils import collection_reads
from ansible_collections.offsite.mongodb.plugins.module_utils.collection_reads import SnapshotReader
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.tests.unit.helpers.fake_mongo import FakeClient


def test_snapshot_start_takes_the_servers_cluster_time():
    at = Timestamp(1700000000, 7)
    client = FakeClient({"find": {"cursor": {"id": 0, "firstBatch": [], "atClusterTime": at}, "ok": 1}})
    reads = SnapshotReader(client)
    assert reads.start("db1") == at and reads.at_cluster_time == at
    sent = client.admin.commands[0]
    assert sent["readConcern"] == {"level": "snapshot"}


def test_snapshot_start_without_cluster_time_is_a_clear_error():
    client = FakeClient({"find": {"cursor": {"id": 0, "firstBatch": []}, "ok": 1}})
    with pytest.raises(OffsiteError, match="gave no atClusterTime"):
        SnapshotReader(client).start("db1")


def test_the_pinned_pymongo_has_the_raw_arrays_the_fast_read_uses():
    """A pymongo release without them still dumps (with find_raw_batches), at about twice the CPU: notice it here."""
    assert collection_reads.RAW_ARRAYS is not None, (
        "bson lost _RawArrayBSONDocument: dumps fall back to find_raw_batches"
    )
    array = bson.encode({"0": {"a": 1}, "1": {"b": 2}})
    assert collection_reads._documents(array) == bson.encode({"a": 1}) + bson.encode({"b": 2})
