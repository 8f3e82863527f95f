"""The backup, list and restore playbooks against a running replica set (one inventory host per member), in every
consistency mode the set gives, while a writer keeps changing the data; the lock is released on every path."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from support.member_inventory import write_member_inventory
from support.playbook_runner import run_playbook, write_inventory
from support.writer import Writer, read_state

COLLECTIONS = ["accounts", "orders"]
EXPECTED_MODE = {"auto": "oplog", "oplog": "oplog", "snapshot": "snapshot", "lock": "lock", "none": "none"}


def s3_vars(s3_endpoint, bucket: str, staging: Path) -> dict:
    return {
        "offsite_s3_connection": {
            "endpoint_url": s3_endpoint.endpoint_url,
            "region": s3_endpoint.region,
            "access_key": s3_endpoint.access_key,
            "secret_key": s3_endpoint.secret_key,
        },
        "offsite_s3_bucket": bucket,
        "backup_staging_dir": str(staging),
        "restore_staging_dir": str(staging),
    }


def locked(replica_set, member: str) -> bool:
    with replica_set.client(member) as client:
        return bool(client.admin.command("currentOp").get("fsyncLock", False))


@pytest.fixture
def staging(tmp_path) -> Path:
    path = tmp_path / "staging"
    path.mkdir()
    return path


def test_backup_in_every_mode_then_list_then_restore_replays_to_the_dump_end(
    replica_set, make_replica_set, s3_endpoint, s3_bucket, tmp_path
):
    staging = tmp_path / "staging"
    staging.mkdir()
    database = f"pb_{uuid.uuid4().hex[:8]}"
    inventory = write_member_inventory(
        tmp_path / "hosts.yml",
        replica_set,
        {
            **s3_vars(s3_endpoint, s3_bucket, staging),
            "backup_databases": [database],
            "backup_lock_lease_dir": str(tmp_path / "leases"),
            "backup_retention": {"keep_last": 10},
        },
    )
    writer = Writer(replica_set.member_uri("primary"), database, COLLECTIONS, seed=150, pause=0.02)
    writer.seed()
    writer.start()
    reports, dumps = {}, {}
    try:
        for mode in ("auto", "snapshot", "lock", "none"):  # auto is oplog on a member; the default
            run = run_playbook(
                "backup", inventory, extra_vars=None if mode == "auto" else {"backup_consistency": mode}
            )
            assert run.rc == 0, run.tail()
            reports[mode] = run.result("Report the backup")["msg"]
            dump_task = (
                "Dump the databases to the staging file"
                if mode == "lock"
                else "Dump straight into the S3 catalog (no local file; the manifest is written last)"
            )
            dumps[mode] = run.result(dump_task)
            assert not locked(replica_set, "hidden")
    finally:
        writer.stop()
    for mode, report in reports.items():
        assert report["node"] == "rs-hidden", "the hidden secondary is backed up"
        assert report["consistency"] == EXPECTED_MODE[mode]
        assert report["staging"] == ("disk" if mode == "lock" else "stream")
    held = float(reports["lock"]["writes_held_seconds"])
    assert 0 < held < 120
    assert all(
        reports[mode]["writes_held_seconds"] in (None, "", "None") for mode in ("auto", "snapshot", "none")
    )
    window = dumps["auto"]["oplog"]
    assert writer.log[0].time < writer.log[-1].time, "the writer ran across the backups"

    listing = run_playbook(
        "list", write_inventory(tmp_path / "list.yml", s3_vars(s3_endpoint, s3_bucket, staging))
    )
    assert listing.rc == 0, listing.tail()
    lines = {line.split()[1]: line for line in listing.result("Show the catalog, newest first")["msg"][1:-1]}
    assert f"lock (writes held {held}s)" in lines[reports["lock"]["backup_id"]]
    for mode in ("auto", "snapshot", "none"):
        assert f" {EXPECTED_MODE[mode]} " in lines[reports[mode]["backup_id"]]

    # Restore the default (oplog) backup into a second set: replayed by default, it is the source at the dump's end.
    target = make_replica_set(set_name="rs-restore")
    target_inventory = write_inventory(
        tmp_path / "target.yml",
        {
            **s3_vars(s3_endpoint, s3_bucket, staging),
            "offsite_mongodb_connection": {"uri": target.member_uri("primary")},
            "restore_set_name": replica_set.set_name,
            "restore_backup_id": reports["auto"]["backup_id"],
        },
    )
    restored = run_playbook("restore", target_inventory)
    assert restored.rc == 0, restored.tail()
    assert restored.result("Restore the archive")["oplog_entries_applied"] > 0
    with target.client("primary") as client:
        assert read_state(client, database, COLLECTIONS) == writer.state_at(window["last"])


def test_the_lock_is_released_when_the_dump_or_a_later_task_fails(
    replica_set, s3_endpoint, s3_bucket, staging, tmp_path
):
    database = f"pbl_{uuid.uuid4().hex[:8]}"
    with replica_set.client("primary") as client:
        client[database].things.insert_many([{"_id": i} for i in range(20)])
    common = {
        **s3_vars(s3_endpoint, s3_bucket, staging),
        "backup_consistency": "lock",
        "backup_databases": [database],
        "backup_lock_lease_dir": str(tmp_path / "leases"),
        "backup_lock_lease_seconds": 600,
    }
    # The dump fails under the lock (a query that is not JSON is read only by the dump).
    failed_dump = run_playbook(
        "backup",
        write_member_inventory(
            tmp_path / "a.yml", replica_set, {**common, "backup_query": {f"{database}.things": "{not json"}}
        ),
    )
    assert failed_dump.rc != 0
    assert failed_dump.result("Lock the node against writes, with a lease")["locked"] is True
    assert failed_dump.result("Dump the databases to the staging file")["failed"] is True
    assert failed_dump.result("Unlock the node")["released"] == 1
    assert not locked(replica_set, "hidden")

    # The upload after the dump fails (no such bucket): the lock was already released after the dump.
    missing_bucket = {**common, "offsite_s3_bucket": f"missing-{uuid.uuid4().hex[:8]}", "backup_prune": False}
    started = time.monotonic()
    failed_upload = run_playbook(
        "backup", write_member_inventory(tmp_path / "b.yml", replica_set, missing_bucket)
    )
    assert failed_upload.rc != 0
    assert failed_upload.result("Unlock the node")["released"] == 1
    assert failed_upload.result("Upload the archive, then its manifest")["failed"] is True
    assert any('failed at "Upload the archive, then its manifest"' in m for m in failed_upload.failures())
    assert not locked(replica_set, "hidden")
    assert time.monotonic() - started < 600, "released by the role, not by the lease"
