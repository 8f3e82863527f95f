"""A consistency the chosen node cannot give fails before anything is locked or written, in one line that says
what to use instead; the default (auto) refuses a mongos the same way."""

from __future__ import annotations

from pathlib import Path

from support.ansible_runner import run_module
from support.playbook_runner import run_playbook, write_inventory


def _inventory(path: Path, uri: str, s3_endpoint, bucket: str, **extra) -> Path:
    return write_inventory(
        path,
        {
            "offsite_mongodb_connection": {"uri": uri},
            "offsite_s3_connection": {
                "endpoint_url": s3_endpoint.endpoint_url,
                "region": s3_endpoint.region,
                "access_key": s3_endpoint.access_key,
                "secret_key": s3_endpoint.secret_key,
            },
            "offsite_s3_bucket": bucket,
            "backup_staging_dir": str(path.parent),
            **extra,
        },
    )


def _refusal(run) -> str:
    assert run.rc != 0
    messages = [m for m in run.failures() if m.startswith("backup_consistency=")]
    assert messages, run.tail()
    assert "\n" not in messages[0]
    assert not run.ran("Lock the node against writes, with a lease")
    assert not run.ran("Create a private staging directory")
    assert not run.ran("Dump straight into the S3 catalog (no local file; the manifest is written last)")
    return messages[0]


def test_oplog_on_a_standalone_server_is_refused_naming_lock(tmp_path, fsync_fake, s3_endpoint, s3_bucket):
    """The scripted standalone mongod (a real one in OFFSITE_TEST_MONGODB_URI runs as a replica set in CI)."""
    inventory = _inventory(
        tmp_path / "hosts.yml", fsync_fake.uri, s3_endpoint, s3_bucket, backup_consistency="oplog"
    )
    message = _refusal(run_playbook("backup", inventory))
    assert not fsync_fake.commands("fsync")
    assert "needs a replica-set member" in message and "a standalone" in message
    assert "use backup_consistency=lock" in message


def test_a_mongos_is_refused_with_the_shard_advice_and_nothing_is_locked(
    tmp_path, make_fsync_fake, s3_endpoint, s3_bucket
):
    mongos = make_fsync_fake(kind="mongos")
    run = run_playbook("backup", _inventory(tmp_path / "hosts.yml", mongos.uri, s3_endpoint, s3_bucket))
    assert run.rc != 0
    messages = [m for m in run.failures() if m.startswith("No node can be backed up in localhost")]
    assert messages, run.tail()
    assert "\n" not in messages[0]
    assert "localhost=mongos" in messages[0]
    assert "back up the members of each shard replica set instead" in messages[0]
    assert not run.ran("Lock the node against writes, with a lease")
    assert not mongos.commands("fsync")


def test_the_dump_module_refuses_lock_on_an_arbiter_before_writing(replica_set, tmp_path):
    dest = tmp_path / "never.archive"
    result = run_module(
        "mongo_dump_archive",
        {
            "uri": replica_set.anonymous_uri("arbiter"),
            "dest": str(dest),
            "consistency": "lock",
            "connect_timeout": 5,
        },
    )
    assert result.get("failed") is True
    assert "is an arbiter: it holds no data to lock" in result["msg"]
    assert "\n" not in result["msg"]
    assert not dest.exists()
