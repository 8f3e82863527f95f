"""Point-in-time recovery, proven on the replica-set stand-in: a logged writer, a base backup in the middle,
oplog archiving on a short interval, and restores to several points that must equal the source's state
at that point, document by document. Gaps (rollover, rollback) are recorded and refused; a killed run
leaves no slice behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from support.oplog_writer import LoggedWriter, last_write_at_or_before, state_at

from ansible_collections.offsite.mongodb.plugins.module_utils._tasks.dump import dump_to_catalog
from ansible_collections.offsite.mongodb.plugins.module_utils._tasks.oplog_overview import oplog_overview
from ansible_collections.offsite.mongodb.plugins.module_utils.backup_id import new_backup_id
from ansible_collections.offsite.mongodb.plugins.module_utils.catalog import Catalog
from ansible_collections.offsite.mongodb.plugins.module_utils.dump_plan import DumpPlan
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.oplog_archive import archive_oplog
from ansible_collections.offsite.mongodb.plugins.module_utils.oplog_catalog import OplogCatalog
from ansible_collections.offsite.mongodb.plugins.module_utils.oplog_point_restore import (
    plan_recovery,
    replay_to_point,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.oplog_time import MAX_INC, OplogTime
from ansible_collections.offsite.mongodb.plugins.module_utils.restore import restore_archive
from ansible_collections.offsite.mongodb.plugins.module_utils.restore_plan import RestorePlan

PREFIX = "pitr"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def catalog(s3_endpoint, s3_bucket):
    return Catalog(s3_endpoint.client(), s3_bucket, PREFIX)


def base_backup(replica, catalog, suffix="a"):
    plan = DumpPlan(consistency="oplog", compression="zstd", include=["shop.*"])
    backup_id = new_backup_id(suffix=suffix)  # two backups may start in the same second here
    return dump_to_catalog(
        lambda: replica.client("primary"), catalog, replica.set_name, plan, backup_id=backup_id
    )


def recover(target_set, catalog, oplog, target):
    """Restore the planned base with oplog replay into an empty target, then replay slices to ``target``."""
    client = target_set.client("primary")
    client.drop_database("shop")
    plan, _unused = plan_recovery(oplog, target)
    manifest = catalog.resolve(oplog.set_name, plan.base.backup_id)
    restore_archive(client, catalog.download_stream(manifest), RestorePlan(oplog_replay=True))
    report = replay_to_point(client, oplog, plan, RestorePlan())
    docs = {doc["_id"]: doc for doc in client.shop.orders.find()}
    client.close()
    return plan, report, docs


def test_recovery_reaches_exactly_the_point_asked(make_replica_set, catalog):
    source = make_replica_set(set_name="rs0")
    target_set = make_replica_set(set_name="rt0")
    oplog = OplogCatalog(catalog, "rs0")
    src = source.client("primary")
    writer = LoggedWriter(src).start()
    runs = []
    try:
        for _unused in range(2):
            time.sleep(0.4)
            runs.append(archive_oplog(src, oplog))
        backup = base_backup(source, catalog)
        for _unused in range(4):
            time.sleep(0.4)
            runs.append(archive_oplog(src, oplog))
    finally:
        writer.stop()
    runs.append(archive_oplog(src, oplog))
    again = archive_oplog(src, oplog)
    assert again.changed is False and again.slice is None  # idempotent: nothing new, nothing written
    assert all(run.changed for run in runs)
    assert runs[0].start["after"] is None  # the first run starts a chain at the majority point

    end = backup["manifest"]["consistency"]["oplog"]["last"]
    base_end = OplogTime(end["t"], end["i"])
    slices = [s for s in oplog.slices(oplog.list()) if s.last > base_end]
    assert len(slices) >= 4 and all(b.after == a.last for a, b in zip(slices, slices[1:]))
    inside = [
        stamp
        for stamp, _unused, _unused in writer.log
        if slices[1].first < OplogTime(*stamp) < slices[1].last
    ]
    after_base = next(stamp for stamp, _unused, _unused in writer.log if OplogTime(*stamp) > base_end)
    middle_second = OplogTime(slices[2].first.secs, MAX_INC)
    targets = {
        "inside a slice": OplogTime(*inside[len(inside) // 2]),
        "a slice boundary": slices[1].last,
        "the base backup's end": base_end,
        "right after the base backup": OplogTime(*after_base),
        "a whole second (ISO time)": middle_second,
        "the newest archived moment": None,
    }
    for name, target in targets.items():
        plan, report, docs = recover(target_set, catalog, oplog, target)
        point = target or slices[-1].last
        expected_reach = last_write_at_or_before(writer.log, tuple(point))
        assert tuple(report.reached) == max(expected_reach, tuple(base_end)), name
        assert plan.base.backup_id == backup["backup_id"], name
        expected = state_at(writer.log, tuple(point))
        assert docs == expected, f"{name}: {len(docs)} documents restored, {len(expected)} expected"
    assert len(writer.log) > 200  # the proof covered real traffic: inserts, updates and deletes
    assert {doc is None for _unused, _unused, doc in writer.log} == {True, False}

    overview = oplog_overview(catalog, ["rs0"])["rs0"]
    assert overview["windows"] == [{"from": base_end.summary(), "to": slices[-1].last.summary()}]
    assert overview["gaps"] == [] and overview["incomplete"] == []
    assert catalog.foreign_keys == []  # slices are the catalog's own keys, not foreign ones


def test_target_before_the_base_or_not_yet_archived_is_refused_before_any_write(make_replica_set, catalog):
    source = make_replica_set(set_name="rs1")
    src = source.client("primary")
    src.shop.orders.insert_many([{"_id": i} for i in range(20)])
    oplog = OplogCatalog(catalog, "rs1")
    with pytest.raises(OffsiteError, match="no complete backup taken with consistency oplog"):
        plan_recovery(oplog, None)
    backup = base_backup(source, catalog)
    src.shop.orders.insert_one({"_id": "late"})
    archived = archive_oplog(src, oplog)
    assert archived.slice["count"] == 1 and archived.start["from"] == f"backup {backup['backup_id']}"
    last = OplogTime(archived.slice["last"]["t"], archived.slice["last"]["i"])
    with pytest.raises(
        OffsiteError, match=r"archived only up to .*newest reachable point before it is .*nothing was written"
    ):
        plan_recovery(oplog, OplogTime(last.secs + 3600, 0))
    with pytest.raises(OffsiteError, match="no base backup is consistent at or before it"):
        plan_recovery(oplog, OplogTime(last.secs - 3600, 0))


def test_rollover_gap_is_recorded_refused_and_healed_by_a_new_base(make_replica_set, catalog):
    source = make_replica_set(set_name="rs2", oplog_size=64 * 1024)
    src = source.client("primary")
    oplog = OplogCatalog(catalog, "rs2")
    src.shop.orders.insert_many([{"_id": i} for i in range(10)])
    first_backup = base_backup(source, catalog)
    src.shop.orders.insert_one({"_id": "a"})
    archive_oplog(src, oplog)
    src.shop.orders.insert_many(
        [{"_id": f"fill{i}", "pad": "x" * 500} for i in range(400)]
    )  # rolls the oplog over
    with pytest.raises(
        OffsiteError, match=r"rolled over past the last archived position .*take a new base backup"
    ):
        archive_oplog(src, oplog)
    with pytest.raises(OffsiteError, match="rolled over"):
        archive_oplog(src, oplog)  # the same gap again: reported, recorded once
    listing = oplog.list()
    assert len(listing.gap_keys) == 1
    gap = oplog.gaps(listing)[0]
    assert gap.reason == "rollover"

    second_backup = base_backup(source, catalog, suffix="b")
    src.shop.orders.insert_one({"_id": "b"})
    healed = archive_oplog(src, oplog)
    assert healed.start["from"] == f"backup {second_backup['backup_id']}"
    overview = oplog_overview(catalog, ["rs2"])["rs2"]
    assert [g["reason"] for g in overview["gaps"]] == ["rollover"]
    assert len(overview["windows"]) == 2  # before the gap, and from the new base on
    end = first_backup["manifest"]["consistency"]["oplog"]["last"]
    assert OplogTime(end["t"], end["i"]) < gap.after < gap.resume
    with pytest.raises(
        OffsiteError, match=r"has a gap from .*\(rollover\).*newest reachable point before it is"
    ):
        plan_recovery(oplog, gap.resume)  # inside the gap: before the new base, after the old chain's end


def test_rollback_is_detected_and_recorded(make_replica_set, catalog):
    source = make_replica_set(set_name="rs3")
    src = source.client("primary")
    oplog = OplogCatalog(catalog, "rs3")
    src.shop.orders.insert_many([{"_id": i} for i in range(5)])
    archive_oplog(src, oplog)
    src.shop.orders.insert_many([{"_id": 10 + i} for i in range(5)])
    archive_oplog(src, oplog)
    assert source.rollback_oplog(3)["removed"] == 3  # the archived newest entries are taken back
    src.shop.orders.insert_one({"_id": "after-election"})
    with pytest.raises(
        OffsiteError, match=r"no longer in the oplog: a rollback took it back.*take a new base backup"
    ):
        archive_oplog(src, oplog)
    gaps = oplog.gaps(oplog.list())
    assert [g.reason for g in gaps] == ["rollback"]


KILLED_RUN = textwrap.dedent(
    """
    import os, sys, time
    sys.path.insert(0, os.environ["COLLECTIONS"])
    import boto3, pymongo
    from ansible_collections.offsite.mongodb.plugins.module_utils import oplog_archive, oplog_catalog
    from ansible_collections.offsite.mongodb.plugins.module_utils.catalog import Catalog
    def hang(*args, **kwargs):
        print("HANGING", flush=True)
        time.sleep(600)
    if os.environ["HANG_AT"] == "manifest":
        oplog_catalog.OplogCatalog.commit = hang
    else:
        original = oplog_archive._SliceWriter.write
        def write(self, batch):
            original(self, batch)
            hang()
        oplog_archive._SliceWriter.write = write
    s3 = boto3.client("s3", endpoint_url=os.environ["ENDPOINT"], aws_access_key_id="testing",
                      aws_secret_access_key="testing", region_name="us-east-1")
    catalog = Catalog(s3, os.environ["BUCKET"], "pitr", part_size=5 * 1024 * 1024)
    client = pymongo.MongoClient(os.environ["URI"])
    oplog_archive.archive_oplog(client, oplog_catalog.OplogCatalog(catalog, os.environ["SET"]))
    """
)


@pytest.mark.parametrize("hang_at", ["stream", "manifest"])
def test_a_run_killed_mid_slice_leaves_no_slice_and_the_next_run_goes_on(
    make_replica_set, catalog, s3_endpoint, s3_bucket, hang_at
):
    source = make_replica_set(set_name="rs4")
    src = source.client("primary")
    oplog = OplogCatalog(catalog, "rs4")
    src.shop.orders.insert_many([{"_id": i} for i in range(5)])
    first = archive_oplog(src, oplog)
    src.shop.orders.insert_many([{"_id": 100 + i, "pad": "p" * 200} for i in range(300)])
    env = dict(os.environ, COLLECTIONS=str(ROOT / ".cache" / "collections"), HANG_AT=hang_at,
               ENDPOINT=s3_endpoint.endpoint_url, BUCKET=s3_bucket, URI=source.member_uri("primary"), SET="rs4")  # fmt: skip
    child = subprocess.Popen([sys.executable, "-c", KILLED_RUN], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "HANGING"
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    listing = oplog.list()
    assert [s.last for s in oplog.slices(listing)] == [
        OplogTime(first.slice["last"]["t"], first.slice["last"]["i"])
    ]
    assert len(listing.incomplete) == (0 if hang_at == "stream" else 1)  # an object without manifest at most
    going_on = archive_oplog(src, oplog)
    assert going_on.start["after"] == first.slice["last"]
    assert going_on.slice["count"] == 300
    assert going_on.cleaned_folders == listing.incomplete
    assert oplog.list().incomplete == []
