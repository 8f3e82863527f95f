"""Oplog replay: what is skipped, where it stops, the order of the batches, and what a failure leaves said."""

from __future__ import annotations

import threading
import uuid

import bson
import pytest
from bson import SON, Binary, Timestamp

from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.oplog_replay import OplogApplier, apply_oplog
from ansible_collections.offsite.mongodb.plugins.module_utils.restore_plan import RestorePlan

UI = Binary(uuid.uuid4().bytes, 4)


def entry(second: int, op: str = "i", ns: str = "shop.orders", o=None, **extra) -> bytes:
    doc = SON([("op", op), ("ns", ns), ("ui", UI), ("o", o if o is not None else {"_id": second}),
               ("ts", Timestamp(second, 1)), ("t", 1), ("v", 2)])  # fmt: skip
    doc.update(extra)
    return bson.encode(doc)


class RecordingAdmin:
    """``client.admin``: records each applyOps batch; fails the batch numbered ``fail_at``; can hold a batch."""

    def __init__(self, fail_at=None):
        self.batches = []
        self.fail_at = fail_at
        self.release = threading.Event()
        self.release.set()
        self.applying = threading.Event()

    def command(self, name, batch):
        assert name == "applyOps"
        self.applying.set()
        self.release.wait(5)
        if len(self.batches) == self.fail_at:
            raise RuntimeError("E11000 duplicate key error")
        self.batches.append([bson.decode(bson.encode(op)) for op in batch])


class Client:
    def __init__(self, **kwargs):
        self.admin = RecordingAdmin(**kwargs)


def applied_ids(client):
    return [op["o"]["_id"] for batch in client.admin.batches for op in batch]


def test_batches_are_applied_in_order_without_the_collection_uuid():
    client = Client()
    applier = OplogApplier(client, RestorePlan(), batch_size=3)
    for second in range(1, 11):
        assert applier.add(entry(second))
    applier.flush()
    assert applied_ids(client) == list(range(1, 11))
    assert [len(b) for b in client.admin.batches] == [3, 3, 3, 1]
    assert all("ui" not in op for batch in client.admin.batches for op in batch)
    assert applier.applied == 10
    assert applier.last_applied == (10, 1)
    assert applier.namespaces == {"shop.orders": 10}


def test_the_next_batch_is_prepared_while_one_is_applied_and_flush_waits_for_it():
    client = Client()
    client.admin.release.clear()
    applier = OplogApplier(client, RestorePlan(), batch_size=2)
    applier.add(entry(1))
    applier.add(entry(2))  # the first batch goes to the sender, which waits for release
    assert client.admin.applying.wait(5)
    applier.add(entry(3))  # taken while the first batch is still being applied
    assert applier.applied == 0 and applier.last_applied is None
    client.admin.release.set()
    applier.flush()
    assert applied_ids(client) == [1, 2, 3]
    assert applier.last_applied == (3, 1)


def test_after_and_limit_bound_what_is_applied():
    client = Client()
    applier = OplogApplier(client, RestorePlan(), after=(3, 1), limit=(6, 1), batch_size=2)
    results = [applier.add(entry(second)) for second in range(1, 9)]
    assert results == [True] * 6 + [False, False]
    assert applied_ids(client) == [4, 5, 6]
    assert applier.reached == (6, 1)


def test_noops_system_namespaces_index_builds_and_unselected_namespaces_are_skipped():
    client = Client()
    entries = [
        entry(1, op="n", ns="", o={"msg": "periodic noop"}),
        entry(2, ns="config.system.sessions"),
        entry(3, ns="admin.system.users"),
        entry(4, op="c", ns="shop.$cmd", o=SON([("startIndexBuild", "orders"), ("indexes", [])])),
        entry(5, ns="other.things"),
        entry(6),
        entry(7, op="c", ns="shop.$cmd", o=SON([("create", "audit")])),
    ]
    applied = apply_oplog(client, entries, RestorePlan(include=["shop.*"]))
    assert applied == 2
    ops = [op for batch in client.admin.batches for op in batch]
    assert [op["ts"].time for op in ops] == [6, 7]


def test_a_transaction_loses_the_uuid_of_every_operation_it_nests():
    client = Client()
    nested = [SON([("op", "i"), ("ns", "shop.orders"), ("ui", UI), ("o", {"_id": n})]) for n in (1, 2)]
    apply_oplog(client, [entry(1, op="c", ns="admin.$cmd", o=SON([("applyOps", nested)]))], RestorePlan())
    (op,) = client.admin.batches[0]
    assert "ui" not in op and all("ui" not in inner for inner in op["o"]["applyOps"])


def test_a_failed_batch_stops_the_replay_and_leaves_the_last_applied_entry_said():
    client = Client(fail_at=1)  # the second batch fails
    applier = OplogApplier(client, RestorePlan(where="db1:27017"), batch_size=2)
    with pytest.raises(OffsiteError, match=r"oplog replay failed on db1:27017: E11000 duplicate key error"):
        for second in range(1, 11):
            applier.add(entry(second))
        applier.flush()
    applier.settle()
    assert applier.applied == 2
    assert applier.last_applied == (2, 1)
    assert applied_ids(client) == [1, 2]
