"""The lock path of the backup role: the fsync lock is released on every path, and secrets stay hidden."""

from __future__ import annotations

import sys
from pathlib import Path

from support.playbook_runner import run_playbook, write_inventory


def _s3(s3_endpoint, secret_key: str) -> dict:
    return {
        "endpoint_url": s3_endpoint.endpoint_url,
        "region": s3_endpoint.region,
        "access_key": s3_endpoint.access_key,
        "secret_key": secret_key,
    }


def test_a_dump_that_fails_under_the_lock_leaves_the_node_unlocked_and_no_backup(
    tmp_path: Path, fsync_fake, s3_endpoint, s3_bucket
) -> None:
    """The scripted mongod takes the lock but cannot list databases, so the dump fails midway."""
    staging, leases = tmp_path / "staging", tmp_path / "leases"
    staging.mkdir()
    inventory = write_inventory(
        tmp_path / "hosts.yml",
        {
            "offsite_mongodb_connection": {"uri": fsync_fake.uri},
            "offsite_s3_connection": _s3(s3_endpoint, s3_endpoint.secret_key),
            "offsite_s3_bucket": s3_bucket,
            "backup_consistency": "lock",
            "backup_lock_lease_seconds": 600,
            "backup_lock_lease_dir": str(leases),
            "backup_staging_dir": str(staging),
            "backup_metrics_dir": str(tmp_path),
        },
    )
    run = run_playbook("backup", inventory)

    assert run.rc != 0
    lock = run.result("Lock the node against writes, with a lease")
    assert lock["locked"] is True
    assert lock["lease_expires_at"]
    assert run.result("Dump the databases to the staging file")["failed"] is True
    unlock = run.result("Unlock the node")
    assert unlock["released"] == 1
    assert fsync_fake.lock_count == 0
    assert len(fsync_fake.commands("fsync")) >= 1
    assert len(fsync_fake.commands("fsyncUnlock")) >= 1
    assert list(leases.glob("fsync-lease-*.json")) == []  # the lease stood down with the unlock
    assert not run.ran("Upload the archive, then its manifest")
    assert any('failed at "Dump the databases to the staging file"' in m for m in run.failures())
    assert list(staging.iterdir()) == []
    metrics = (tmp_path / "offsite_mongodb_backup_localhost_run.prom").read_text()
    assert 'offsite_mongodb_backup_last_run_success{set="localhost",' in metrics
    assert metrics.rstrip().endswith(" 0")
    assert not (tmp_path / "offsite_mongodb_backup_localhost_success.prom").exists()
    listed = s3_endpoint.client().list_objects_v2(Bucket=s3_bucket)
    assert listed.get("KeyCount", 0) == 0  # no manifest, no archive


def test_stream_staging_cannot_be_combined_with_the_lock(tmp_path: Path, fsync_fake) -> None:
    inventory = write_inventory(
        tmp_path / "hosts.yml",
        {
            "offsite_mongodb_connection": {"uri": fsync_fake.uri},
            "offsite_s3_bucket": "unused-bucket",
            "backup_consistency": "lock",
            "backup_staging": "stream",
        },
    )
    run = run_playbook("backup", inventory)
    assert run.rc != 0
    assert any("the lock is held for the dump only" in m for m in run.failures())
    assert fsync_fake.commands("fsync") == []


def test_secrets_never_appear_in_the_output_at_vvv(
    tmp_path: Path, make_fsync_fake, s3_endpoint, s3_bucket
) -> None:
    """A login that fails, at -vvv: neither the MongoDB password nor the S3 secret key is printed."""
    fake = make_fsync_fake(auth_fails=True)
    password, secret_key = "Mongo-Pa55-3d1f8e", "S3-Secret-9b7c2a"
    inventory = write_inventory(
        tmp_path / "hosts.yml",
        {
            "offsite_mongodb_connection": {
                "login_host": "127.0.0.1",
                "login_port": fake.port,
                "login_user": "backup",
                "login_password": password,
            },
            "offsite_s3_connection": _s3(s3_endpoint, secret_key),
            "offsite_s3_bucket": s3_bucket,
        },
    )
    backup = run_playbook("backup", inventory, verbosity=3)
    assert backup.rc != 0
    assert any("authentication failed for user 'backup'" in m for m in backup.failures())
    listing = run_playbook("list", inventory, verbosity=3)
    assert listing.rc == 0, listing.tail()
    for run in (backup, listing):
        assert "<localhost> EXEC" in run.output or "ESTABLISH LOCAL CONNECTION" in run.output  # really -vvv
        assert password not in run.output
        assert secret_key not in run.output
        assert sys.executable in run.output
