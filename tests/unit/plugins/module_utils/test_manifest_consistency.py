"""The manifest records how consistent a backup is, and for lock backups how long writes were held."""

from __future__ import annotations

from ansible_collections.offsite.mongodb.plugins.module_utils.manifest import build_manifest

ARCHIVE = {"key": "p/rs0/20261127T101500Z/mongodump.archive.gz", "size": 10, "sha256": "a" * 64}


def manifest(**metadata):
    return build_manifest(
        backup_id="20261127T101500Z",
        set_name="rs0",
        created="2026-11-27T10:15:01Z",
        archive=ARCHIVE,
        metadata=metadata,
    )


def test_a_lock_backup_records_the_seconds_writes_were_held_under_consistency():
    recorded = manifest(consistency="lock", writes_held_seconds="2.4")
    assert recorded["consistency"] == {"mode": "lock", "oplog": None, "writes_held_seconds": 2.4}
    assert "writes_held_seconds" not in recorded["metadata"]


def test_other_backups_have_no_hold_time():
    window = {"first": {"t": 1, "i": 1}, "last": {"t": 2, "i": 3}, "count": 4}
    recorded = manifest(consistency="oplog", oplog=window)
    assert recorded["consistency"] == {"mode": "oplog", "oplog": window}
