"""What the dump checks before it starts: the consistency a node can give."""

from __future__ import annotations

import pytest

from ansible_collections.offsite.mongodb.plugins.module_utils.dump import consistency_warnings
from ansible_collections.offsite.mongodb.plugins.module_utils.dump_plan import DumpPlan
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.mongo_node import NodeInfo
from ansible_collections.offsite.mongodb.tests.unit.helpers.fake_mongo import FakeClient


def test_oplog_needs_a_replica_set_member():
    plan = DumpPlan(consistency="oplog", where="db1:27017")
    with pytest.raises(
        OffsiteError, match=r"^consistency=oplog needs a replica-set member: db1:27017 is a standalone"
    ):
        consistency_warnings(FakeClient(), plan, NodeInfo("standalone", (7, 0, 0)))
    assert consistency_warnings(FakeClient(), plan, NodeInfo("secondary", (7, 0, 0), "rs0")) == []


def test_snapshot_needs_mongodb_5():
    plan = DumpPlan(consistency="snapshot", where="db1:27017")
    with pytest.raises(OffsiteError, match=r"needs MongoDB 5.0 or newer: db1:27017 runs 4.4.9"):
        consistency_warnings(FakeClient(), plan, NodeInfo("primary", (4, 4, 9), "rs0"))


def test_lock_mode_warns_when_the_node_is_not_locked():
    plan = DumpPlan(consistency="lock", where="db1")
    assert (
        "does not report an fsync lock"
        in consistency_warnings(FakeClient({"currentOp": {}}), plan, NodeInfo("secondary", (7, 0, 0)))[0]
    )
    locked = FakeClient({"currentOp": {"fsyncLock": True}})
    assert consistency_warnings(locked, plan, NodeInfo("secondary", (7, 0, 0))) == []
