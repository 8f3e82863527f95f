"""consistency: lock, end to end on the replica-set stand-in: writes wait for the lock, the dump is the state at
the lock, and a lock whose controller was SIGKILLed is released by the lease."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import threading
import time
import uuid
from pathlib import Path

import bson
from pymongo import MongoClient
from support.ansible_runner import BIN, ansible_env, run_module

from ansible_collections.offsite.mongodb.plugins.module_utils import archive_reader, compression, fsync_lock
from ansible_collections.offsite.mongodb.plugins.module_utils.dump import dump_archive
from ansible_collections.offsite.mongodb.plugins.module_utils.dump_plan import DumpPlan


def locked(replica_set, member: str = "secondary") -> bool:
    with replica_set.client(member) as client:
        return bool(client.admin.command("currentOp").get("fsyncLock", False))


def archive_documents(path: Path) -> dict:
    stream, _kind = compression.decompressing_reader(io.BytesIO(path.read_bytes()))
    documents: dict = {}
    for event in archive_reader.ArchiveReader(stream).events():
        documents.setdefault(event.entry.ns, []).extend(
            bson.decode(doc) if isinstance(doc, bytes) else doc for doc in event.documents
        )
    return documents


def _seed(replica_set, database: str) -> None:
    with replica_set.client("primary") as client:
        client[database].items.insert_many([{"_id": i, "v": 0} for i in range(200)])


def _write_after(replica_set, database: str, done: list) -> threading.Thread:
    """A thread that inserts one document and changes another on the primary, noting when both returned."""

    def write() -> None:
        with MongoClient(replica_set.member_uri("primary")) as writer:
            writer[database].items.insert_one({"_id": "sent during the lock"})
            writer[database].items.update_one({"_id": 0}, {"$set": {"v": 1}})
        done.append(time.monotonic())

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


def _assert_state_at_the_lock(archive: Path, database: str) -> None:
    dumped = archive_documents(archive)[f"{database}.items"]
    assert sorted(doc["_id"] for doc in dumped) == list(range(200))
    assert all(doc["v"] == 0 for doc in dumped)


def test_a_locked_secondary_dumps_the_state_at_the_lock_while_the_primary_writes_on(replica_set, tmp_path):
    """The role's path (modules, as ansible runs them): lock the member, dump it, unlock it."""
    database = f"lock_{uuid.uuid4().hex[:8]}"
    member = replica_set.member_uri("secondary")
    leases = str(tmp_path / "leases")
    _seed(replica_set, database)

    lock = run_module(
        "mongo_fsync_lock", {"uri": member, "state": "locked", "lease_seconds": 120, "lease_dir": leases}
    )
    assert lock.get("locked") is True, lock
    try:
        done: list = []
        _write_after(replica_set, database, done).join(timeout=20)
        assert done, "the primary takes writes while a secondary is locked"
        archive = tmp_path / "locked.archive"
        dump = run_module(
            "mongo_dump_archive",
            {
                "uri": member,
                "dest": str(archive),
                "consistency": "lock",
                "databases": [database],
                "compression": "none",
            },
        )
        assert dump.get("failed") is not True, dump.get("msg")
        assert dump["consistency"] == "lock"
        assert not dump.get("warnings"), "the dump saw the node locked"
    finally:
        unlock = run_module("mongo_fsync_lock", {"uri": member, "state": "unlocked", "lease_dir": leases})
    assert unlock["released"] == 1
    assert not locked(replica_set)
    _assert_state_at_the_lock(archive, database)
    with replica_set.client("secondary", directConnection=True) as client:  # caught up after the unlock
        assert client[database].items.count_documents({}) == 201


def test_writes_to_a_locked_node_wait_for_the_dump_and_then_complete(replica_set, tmp_path):
    """Locking the node that takes the writes (a primary with backup_allow_primary): they queue, then land."""
    database = f"lockw_{uuid.uuid4().hex[:8]}"
    _seed(replica_set, database)
    archive = tmp_path / "locked.archive"
    done: list = []
    with replica_set.client("primary") as client:
        fsync_lock.ensure_locked(client)
        try:
            thread = _write_after(replica_set, database, done)
            with archive.open("wb") as sink:
                report = dump_archive(
                    client, sink, DumpPlan(databases=[database], consistency="lock", compression="none")
                )
            assert report.warnings == []
            time.sleep(0.5)
            assert not done, "a write went through while the node was locked"
        finally:
            unlocked_at = time.monotonic()
            fsync_lock.unlock_once(client)
        thread.join(timeout=20)
        assert done and done[0] >= unlocked_at, "the waiting writes complete once the lock is gone"
        assert client[database].items.count_documents({}) == 201
    _assert_state_at_the_lock(archive, database)


LOCK_AND_HANG = """
- name: Take the lock and hang
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Lock with a short lease
      offsite.mongodb.mongo_fsync_lock:
        uri: "{{ member_uri }}"
        state: locked
        lease_seconds: "{{ lease_seconds }}"
        lease_dir: "{{ lease_dir }}"
    - name: Hang as a stuck dump would
      ansible.builtin.pause:
        seconds: 120
"""


def test_the_lease_releases_the_lock_when_the_controller_is_killed(replica_set, tmp_path):
    lease_seconds = 4
    playbook = tmp_path / "hang.yml"
    playbook.write_text(LOCK_AND_HANG)
    extra = f'{{"member_uri": "{replica_set.member_uri("secondary")}", "lease_seconds": {lease_seconds}, '
    extra += f'"lease_dir": "{tmp_path / "leases"}"}}'
    argv = [str(BIN / "ansible-playbook"), str(playbook), "-i", "localhost,", "-c", "local", "-e", extra]
    process = subprocess.Popen(
        argv, env=ansible_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 60
        while not locked(replica_set) and time.monotonic() < deadline:
            time.sleep(0.1)
        locked_at = time.monotonic()
        assert locked(replica_set), "the playbook never took the lock"
        time.sleep(0.5)
        os.kill(process.pid, signal.SIGKILL)  # the controller dies: no always, no handler, no unlock task
        killed_at = time.monotonic()
        process.wait(timeout=10)
        while locked(replica_set) and time.monotonic() < killed_at + lease_seconds + 30:
            time.sleep(0.1)
        released_at = time.monotonic()
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
        # The forked worker running the pause outlives its parent: end it by its group id.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    assert not locked(replica_set)
    held = released_at - locked_at
    print(
        f"lease {lease_seconds}s: lock held {held:.1f}s, released {released_at - killed_at:.1f}s after SIGKILL"
    )
    assert held <= lease_seconds + 3, f"the lease released the lock {held:.1f}s after it was taken"
    assert released_at > killed_at
