"""consistency: oplog, end to end: a dump of a hidden secondary while a writer inserts, updates and deletes on
the primary, restored with oplog replay into a second replica set, equals the source at the dump's end."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from support.writer import Writer, read_state, ts_key

from ansible_collections.offsite.mongodb.plugins.module_utils.dump import dump_archive
from ansible_collections.offsite.mongodb.plugins.module_utils.dump_plan import DumpPlan
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.restore import restore_archive
from ansible_collections.offsite.mongodb.plugins.module_utils.restore_plan import RestorePlan

COLLECTIONS = ["accounts", "events", "orders"]


def _dump(replica_set, path: Path, database: str, progress=None, **plan) -> dict:
    with replica_set.client("hidden") as client, path.open("wb") as sink:
        report = dump_archive(client, sink, DumpPlan(databases=[database], where="hidden", **plan), progress)
    return report.to_result()


def test_restore_with_oplog_replay_equals_the_source_at_the_dump_end(replica_set, make_replica_set, tmp_path):
    database = f"oplog_{uuid.uuid4().hex[:8]}"
    writer = Writer(replica_set.member_uri("primary"), database, COLLECTIONS, seed=400)
    writer.seed()
    # Another database written during the dump: its entries stay out of this dump's oplog (the target has
    # none of its collections, so replaying them would fail there).
    bystander = Writer(replica_set.member_uri("primary"), f"{database}_other", ["noise"], seed=5)
    bystander.seed()
    writer.start()
    bystander.start()
    time.sleep(0.3)  # the writers are in full swing before the dump begins
    archive = tmp_path / "dump.archive"
    # Small batches and one collection at a time stretch the dump across many writes.
    result = _dump(replica_set, archive, database, consistency="oplog", batch_size=25, parallel_collections=1)
    time.sleep(0.3)  # and they go on after the dump ended
    writer.stop()
    bystander.stop()
    assert bystander.writes_between(result["oplog"]["first"], result["oplog"]["last"])

    window = result["oplog"]
    during = writer.writes_between(window["first"], window["last"])
    after = [w for w in writer.log if ts_key(w.time) > ts_key(window["last"])]
    assert len(during) >= 20, (
        f"only {len(during)} writes landed during the dump: the proof needs a busy source"
    )
    assert {w.op for w in during} == {"insert", "update", "delete"}
    assert after, "the writer must still write after the dump, so the end position matters"
    assert window["count"] >= len(during)

    # The writer's model agrees with the source at the end (the model is right before it judges the restore).
    with replica_set.client("primary") as source:
        assert read_state(source, database, COLLECTIONS) == writer.state_at(writer.log[-1].time)

    target_set = make_replica_set(set_name="rs-target")
    with target_set.client("primary") as target:
        with archive.open("rb") as source_file:
            report = restore_archive(target, source_file, RestorePlan(oplog_replay=True, where="target"))
        assert report.oplog_entries_applied >= len(during)
        restored = read_state(target, database, COLLECTIONS)
        assert f"{database}_other" not in target.list_database_names()
    expected = writer.state_at(window["last"])
    for name in COLLECTIONS:
        assert sorted(restored[name]) == sorted(expected[name]), f"{name}: other _ids than at the dump's end"
        for doc_id, doc in expected[name].items():
            assert restored[name][doc_id] == doc, f"{name} {doc_id} differs from the source at the dump's end"
    # Without the replay the restore would be a blur of the dump's reads: the oplog made the difference.
    assert expected != writer.state_at(window["first"])


def test_an_oplog_that_rolls_over_during_the_dump_fails_in_one_line(make_replica_set, tmp_path):
    small = make_replica_set(set_name="rs-small", oplog_size=16 * 1024)
    database = f"roll_{uuid.uuid4().hex[:8]}"
    writer = Writer(small.member_uri("primary"), database, COLLECTIONS, seed=50)
    writer.seed()
    writer.start()

    goal = []

    def hold_until_the_oplog_wrapped(ns: str, size: int) -> None:
        """On the first batch, wait until the writer has written more than the oplog holds."""
        if goal:
            return
        goal.append(len(writer.log) + 400)  # 400 entries of ~150 bytes > 16 KiB
        deadline = time.monotonic() + 30
        while len(writer.log) < goal[0] and time.monotonic() < deadline:
            time.sleep(0.05)

    try:
        with pytest.raises(OffsiteError) as failure:
            _dump(
                small, tmp_path / "dump.archive", database, hold_until_the_oplog_wrapped, consistency="oplog"
            )
    finally:
        writer.stop()
    message = str(failure.value)
    assert "\n" not in message
    assert message.startswith("the oplog rolled over during the dump")
    assert "make the oplog larger" in message
