"""mongo_fsync_lock end to end: the module runs through ``ansible`` against scripted and stand-in servers."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from support.ansible_runner import run_module
from support.processes import free_port


def lock(fake_or_uri, tmp_path: Path, **args):
    uri = fake_or_uri if isinstance(fake_or_uri, str) else fake_or_uri.uri
    check = args.pop("check", False)
    return run_module(
        "mongo_fsync_lock", {"uri": uri, "lease_dir": str(tmp_path / "leases"), **args}, check=check
    )


def wait_until(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def test_lock_is_idempotent_and_unlock_releases_every_nested_lock(fsync_fake, tmp_path):
    first = lock(fsync_fake, tmp_path, state="locked")
    assert (first["changed"], first["locked"], first["lock_count"]) == (True, True, 1)
    assert fsync_fake.lock_count == 1

    again = lock(fsync_fake, tmp_path, state="locked")
    assert (again["changed"], again["lock_count"]) == (False, 1)
    assert fsync_fake.lock_count == 1

    nested = lock(fsync_fake, tmp_path, state="locked", nested=True)
    assert (nested["changed"], nested["lock_count"]) == (True, 2)
    assert fsync_fake.lock_count == 2

    unlocked = lock(fsync_fake, tmp_path, state="unlocked")
    assert (unlocked["changed"], unlocked["locked"], unlocked["lock_count"], unlocked["released"]) == (
        True,
        False,
        0,
        2,
    )
    assert fsync_fake.lock_count == 0

    still = lock(fsync_fake, tmp_path, state="unlocked")
    assert (still["changed"], still["released"]) == (False, 0)
    assert still["node"] == {"kind": "standalone", "version": "7.0.12", "set_name": None, "hidden": False}


def test_check_mode_reports_and_touches_nothing(fsync_fake, tmp_path):
    would_lock = lock(fsync_fake, tmp_path, state="locked", check=True)
    assert (would_lock["changed"], would_lock["lock_count"]) == (True, 1)
    assert fsync_fake.lock_count == 0
    assert fsync_fake.commands("fsync") == []

    lock(fsync_fake, tmp_path, state="locked")
    would_unlock = lock(fsync_fake, tmp_path, state="unlocked", check=True)
    assert (would_unlock["changed"], would_unlock["lock_count"]) == (True, 0)
    assert fsync_fake.lock_count == 1
    assert fsync_fake.commands("fsyncUnlock") == []

    already = lock(fsync_fake, tmp_path, state="locked", check=True)
    assert already["changed"] is False
    assert fsync_fake.lock_count == 1


def test_abandoned_lock_is_released_when_its_lease_runs_out(fsync_fake, tmp_path):
    # Long enough to outlast the module's own exit on a loaded machine (2 s did not), short enough to wait for.
    result = lock(fsync_fake, tmp_path, state="locked", lease_seconds=10)
    assert result["changed"] is True
    assert result["lease_expires_at"]
    lease_file = Path(result["lease_file"])
    assert lease_file.stat().st_mode & 0o777 == 0o600
    assert "password" not in lease_file.read_text()
    # The module has exited; nobody runs state=unlocked. The watchdog must release the lock on its own.
    assert fsync_fake.lock_count == 1
    assert wait_until(lambda: fsync_fake.lock_count == 0, timeout=40)
    assert fsync_fake.commands("fsyncUnlock"), "the watchdog should have sent fsyncUnlock"
    assert wait_until(lambda: not lease_file.exists(), timeout=5)
    assert "released 1 fsync lock" in lease_file.with_suffix(".log").read_text()


def test_unlock_cancels_the_lease_and_renewal_extends_it(fsync_fake, tmp_path):
    lock(fsync_fake, tmp_path, state="locked", lease_seconds=2)
    lock(fsync_fake, tmp_path, state="unlocked")
    lock(fsync_fake, tmp_path, state="locked")  # a later lock without a lease must not be released
    time.sleep(3)
    assert fsync_fake.lock_count == 1
    lock(fsync_fake, tmp_path, state="unlocked")

    first = lock(fsync_fake, tmp_path, state="locked", lease_seconds=2)
    renewed = lock(fsync_fake, tmp_path, state="locked", lease_seconds=6)
    assert renewed["changed"] is True
    assert renewed["lease_expires_at"] > first["lease_expires_at"]
    assert json.loads(Path(renewed["lease_file"]).read_text())["token"]
    time.sleep(3)
    assert fsync_fake.lock_count == 1, "the renewed lease must not expire at the first deadline"
    assert wait_until(lambda: fsync_fake.lock_count == 0, timeout=40)


@pytest.mark.parametrize(
    ("kind", "version"),
    [("secondary", "7.0.12"), ("primary", "6.0.5"), ("mongos", "7.0.2"), ("mongos", "8.0.1")],
)
def test_lock_works_on_members_and_recent_mongos(make_fsync_fake, tmp_path, kind, version):
    fake = make_fsync_fake(kind=kind, version=version)
    result = lock(fake, tmp_path, state="locked")
    assert result["node"]["kind"] == kind
    assert result["node"]["set_name"] == ("rs0" if kind in ("primary", "secondary") else None)
    assert fake.lock_count == 1
    assert lock(fake, tmp_path, state="unlocked")["released"] == 1


@pytest.mark.parametrize(
    ("kind", "version", "expected"),
    [
        ("arbiter", "7.0.12", "is an arbiter: it holds no data"),
        ("mongos", "7.0.1", "needs 7.0.2 or newer"),
        ("mongos", "6.0.11", "needs 7.0.2 or newer"),
    ],
)
def test_refuses_arbiters_and_old_mongos_with_one_line(make_fsync_fake, tmp_path, kind, version, expected):
    fake = make_fsync_fake(kind=kind, version=version)
    result = lock(fake, tmp_path, state="locked")
    assert result["failed"] is True
    assert expected in result["msg"]
    assert "\n" not in result["msg"]
    assert fake.commands("fsync") == []


def module_processes() -> set:
    """PIDs of processes forked from a mongo_fsync_lock module run (watchdogs keep the module's command line)."""
    found = set()
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and b"AnsiballZ_mongo_fsync_lock" in (proc / "cmdline").read_bytes():
                found.add(int(proc.name))
        except OSError:
            continue
    return found


def test_a_failed_lock_leaves_no_watchdog_behind(make_fsync_fake, tmp_path):
    fake = make_fsync_fake(denied={"fsync"})
    before = module_processes()
    result = lock(fake, tmp_path, state="locked", lease_seconds=600)
    assert result["failed"] is True
    assert wait_until(lambda: not (module_processes() - before), timeout=10)
    assert not Path(result.get("lease_file") or tmp_path / "leases" / "none").exists()


def test_missing_privilege_names_the_role_to_grant(make_fsync_fake, tmp_path):
    fake = make_fsync_fake(denied={"fsync"})
    result = lock(fake, tmp_path, state="locked")
    assert result["failed"] is True
    assert "not allowed to take the fsync lock" in result["msg"]
    assert "hostManager" in result["msg"]
    assert "\n" not in result["msg"]


def test_failed_login_says_which_options_to_check_and_hides_the_password(make_fsync_fake, tmp_path):
    fake = make_fsync_fake(auth_fails=True)
    secret = "s3cr3t-Pa55"
    args = {
        "login_host": "127.0.0.1",
        "login_port": fake.port,
        "login_user": "backup",
        "login_password": secret,
    }
    result = run_module("mongo_fsync_lock", {**args, "lease_dir": str(tmp_path)})
    assert result["failed"] is True
    assert result["msg"].startswith("authentication failed for user 'backup' on database 'admin'")
    assert "login_password" in result["msg"]
    assert secret not in result["_stdout"]
    assert secret not in json.dumps(result)


def test_unreachable_server_and_bad_options_fail_with_one_line(tmp_path):
    port = free_port()
    unreachable = run_module(
        "mongo_fsync_lock", {"login_host": "127.0.0.1", "login_port": port, "connect_timeout": 1}
    )
    assert unreachable["failed"] is True
    assert unreachable["msg"].startswith(f"cannot reach MongoDB at 127.0.0.1:{port} within 1 s")

    bad_uri = run_module("mongo_fsync_lock", {"uri": "http://example.invalid"})
    assert "uri must start with mongodb://" in bad_uri["msg"]

    bad_lease = run_module("mongo_fsync_lock", {"login_port": port, "lease_seconds": 10**12})
    assert bad_lease["msg"] == "lease_seconds must be between 1 and 604800 (a week), got 1000000000000"


def test_connection_comes_from_environment_variables(fsync_fake, tmp_path):
    result = run_module(
        "mongo_fsync_lock", {"lease_dir": str(tmp_path)}, env={"OFFSITE_MONGODB_URI": fsync_fake.uri}
    )
    assert result["locked"] is True
    assert fsync_fake.lock_count == 1


def test_against_the_test_mongodb_server(mongo_server, tmp_path):
    """A real mongod (OFFSITE_TEST_MONGODB_URI) locks and unlocks; the stand-in, which cannot lock, is refused."""
    locked = lock(mongo_server.uri, tmp_path, state="locked", lease_seconds=120)
    if mongo_server.real:
        try:
            assert (locked["locked"], locked["lock_count"]) == (True, 1)
        finally:
            unlocked = lock(mongo_server.uri, tmp_path, state="unlocked")
        assert unlocked["released"] == 1
    else:
        assert locked["failed"] is True
        assert "without a lockCount" in locked["msg"]
