"""Snapshot reads: one cluster time, taken from the server's first snapshot read."""

from __future__ import annotations

import pytest
from bson import Timestamp

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
