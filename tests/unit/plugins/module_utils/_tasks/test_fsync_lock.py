"""The lock task checks every option before it connects, and check mode touches nothing."""

from __future__ import annotations

import pytest

from ansible_collections.offsite.mongodb.plugins.module_utils._tasks import fsync_lock as task
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.tests.unit.helpers.fake_mongo import FakeClient


@pytest.fixture
def connections(monkeypatch):
    """Every connection the task opens; none is expected unless a test scripts one."""
    opened = []

    def connect(options):
        opened.append(options)
        raise AssertionError("the task connected before it had checked its options")

    monkeypatch.setattr(task, "connect", connect)
    return opened


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"lease_seconds": 10**12},
            r"lease_seconds must be between 1 and 604800 \(a week\), got 1000000000000",
        ),
        ({"lease_seconds": 0}, "lease_seconds must be between 1 and 604800"),
        ({"lease_seconds": -5}, "lease_seconds must be between 1 and 604800"),
        ({"state": "unlocked", "nested": True}, "nested and lease_seconds apply to state=locked only"),
        ({"state": "unlocked", "lease_seconds": 60}, "nested and lease_seconds apply to state=locked only"),
        ({"login_port": 70000}, "login_port must be between 1 and 65535"),
        ({"tls_ca_file": "/nonexistent/ca.pem"}, "tls_ca_file '/nonexistent/ca.pem' is not a readable file"),
    ],
)
def test_bad_options_are_refused_before_any_connection(connections, params, message):
    with pytest.raises(OffsiteError, match=message):
        task.run_lock_task({"state": "locked", **params}, check_mode=False)
    assert connections == []


def test_a_lease_dir_that_is_a_file_is_refused_before_any_connection(connections, tmp_path):
    not_a_dir = tmp_path / "leases"
    not_a_dir.write_text("")
    with pytest.raises(OffsiteError, match=r"is not a directory .*: give a directory path"):
        task.run_lock_task({"lease_seconds": 600, "lease_dir": str(not_a_dir)}, check_mode=False)
    assert connections == []


def test_the_longest_lease_is_a_week():
    task.check_lease_options("locked", False, task.MAX_LEASE_SECONDS, None)
    with pytest.raises(OffsiteError):
        task.check_lease_options("locked", False, task.MAX_LEASE_SECONDS + 1, None)


class _ClosingClient(FakeClient):
    closed = False

    def close(self):
        self.closed = True


def test_check_mode_reports_the_lock_it_would_take_and_changes_nothing(monkeypatch, tmp_path):
    client = _ClosingClient(
        {
            "hello": {"setName": "rs0", "secondary": True},
            "buildInfo": {"versionArray": [7, 0, 14, 0]},
            "currentOp": {"inprog": []},
        }
    )
    monkeypatch.setattr(task, "connect", lambda options: client)
    result = task.run_lock_task({"state": "locked", "lease_seconds": 600, "lease_dir": str(tmp_path)}, True)
    assert (result["changed"], result["locked"], result["lock_count"]) == (True, True, 1)
    assert result["node"] == {"kind": "secondary", "version": "7.0.14", "set_name": "rs0", "hidden": False}
    assert result["lease_expires_at"] is None
    assert list(tmp_path.iterdir()) == []  # no lease written, no watchdog started
    assert client.admin.commands == ["hello", "buildInfo", "currentOp"]  # no fsync sent
    assert client.closed


def test_an_arbiter_is_refused_after_it_is_identified(monkeypatch):
    client = _ClosingClient(
        {"hello": {"setName": "rs0", "arbiterOnly": True}, "buildInfo": {"version": "7.0.1"}}
    )
    monkeypatch.setattr(task, "connect", lambda options: client)
    with pytest.raises(OffsiteError, match="is an arbiter: it holds no data to lock"):
        task.run_lock_task({"state": "locked"}, check_mode=False)
    assert client.closed
