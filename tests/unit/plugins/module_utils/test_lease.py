"""The lease file (0600, atomic, one per node) and the watchdog that releases a forgotten lock."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.lease import (
    Lease,
    cancel_lease,
    default_lease_dir,
    lease_path,
    read_lease,
    renew_lease,
    start_watchdog,
    write_lease,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.mongo_connection import ConnectionOptions


def wait_for(condition, seconds=10.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_a_lease_round_trips_through_a_private_file(tmp_path):
    path = tmp_path / "leases" / "fsync-lease-x.json"
    lease = Lease("a" * 32, 1_800_000_000.5, os.getpid())
    write_lease(path, lease)
    assert read_lease(path) == lease
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left behind


def test_missing_or_damaged_lease_files_read_as_no_lease(tmp_path):
    path = tmp_path / "lease.json"
    assert read_lease(path) is None
    for text in ("", "{", '{"token": "t"}', '{"token": "t", "expires_at": "soon", "watchdog_pid": 1}', "[]"):
        path.write_text(text)
        assert read_lease(path) is None, text


def test_cancel_removes_the_file_and_returns_what_was_there(tmp_path):
    path = tmp_path / "lease.json"
    lease = Lease("t" * 32, time.time() + 60, os.getpid())
    write_lease(path, lease)
    assert cancel_lease(path) == lease
    assert not path.exists()
    assert cancel_lease(path) is None  # cancelling twice is fine


def test_renewing_moves_only_the_expiry(tmp_path):
    path = tmp_path / "lease.json"
    lease = Lease("t" * 32, time.time() - 5, 4242)
    before = time.time()
    renewed = renew_lease(path, lease, 600)
    assert (renewed.token, renewed.watchdog_pid) == (lease.token, lease.watchdog_pid)
    assert before + 600 <= renewed.expires_at <= time.time() + 600
    assert read_lease(path) == renewed


def test_one_lease_file_per_node_and_no_credentials_in_its_name(tmp_path):
    one = lease_path(str(tmp_path), ConnectionOptions(host="db1", port=27017, password="hunter2"))
    same = lease_path(str(tmp_path), ConnectionOptions(host="db1", port=27017, user="other"))
    other = lease_path(str(tmp_path), ConnectionOptions(host="db2", port=27017))
    assert one == same != other
    assert one.parent == tmp_path and "hunter2" not in str(one)
    assert lease_path(None, ConnectionOptions()).parent == default_lease_dir()


def test_a_watchdog_whose_process_is_gone_is_not_alive():
    assert Lease("t", 0, os.getpid()).watchdog_alive()
    assert not Lease("t", 0, 2**22 + 12345).watchdog_alive()


def test_the_watchdog_releases_the_lock_when_the_lease_expires(tmp_path):
    path = tmp_path / "lease.json"
    marker = tmp_path / "released"
    lease = start_watchdog(
        path,
        60,
        connect=lambda: "client",
        release=lambda client: (marker.write_text(client), 2)[1],
        startup_grace=10,
    )
    assert lease.watchdog_alive()
    write_lease(path, Lease(lease.token, time.time() + 0.3, lease.watchdog_pid))
    assert wait_for(marker.exists), "the watchdog did not release the lock"
    assert marker.read_text() == "client"
    assert wait_for(lambda: not path.exists())  # its own lease is removed after the release
    assert wait_for(lambda: not Lease("t", 0, lease.watchdog_pid).watchdog_alive())
    assert "released 2 fsync lock(s)" in path.with_suffix(".log").read_text()


def test_the_watchdog_stands_down_when_the_lease_is_cancelled(tmp_path):
    path = tmp_path / "lease.json"
    marker = tmp_path / "released"
    lease = start_watchdog(
        path, 60, connect=lambda: None, release=lambda client: marker.write_text("x") and 1, startup_grace=10
    )
    write_lease(path, lease)
    time.sleep(1.0)  # the watchdog reads the file every 0.2 s: let it see the lease before it goes
    cancel_lease(path)
    assert wait_for(lambda: not lease.watchdog_alive())
    assert not marker.exists()
    assert "standing down" in path.with_suffix(".log").read_text()


def test_a_watchdog_that_cannot_connect_fails_the_start_with_its_reason(tmp_path):
    def refuse():
        raise OffsiteError("authentication failed for user 'bk'\non database 'admin'")

    with pytest.raises(
        OffsiteError, match=r"^the lease watchdog could not start: authentication failed for user 'bk' on"
    ):
        start_watchdog(
            Path(tmp_path / "lease.json"), 60, connect=refuse, release=lambda c: 0, startup_grace=1
        )
