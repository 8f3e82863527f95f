"""Fault injection: S3 and MongoDB failing, a full disk, SIGKILL, while the modules and playbooks run.

The fault proxy (``support/fault_proxy.py``) sits in front of moto and nx-27017. Every fault ends
with the same checks: no backup is marked complete without a whole archive, no multipart upload is
left once S3 is back (after the failing run or, at the latest, after the next backup of the set),
no local file is left, no node stays locked, and the failure is one line.
"""

from __future__ import annotations

import os
import random
import re
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, List, NamedTuple

import pymongo
import pytest
from bson import Binary
from support import background, process_tree
from support.ansible_runner import run_module
from support.catalog_checks import (
    assert_one_line,
    broken_complete_backups,
    keys,
    leftovers,
    manifests,
    multipart_uploads,
)
from support.fault_proxy_control import start_fault_proxy
from support.playbook_runner import PlaybookRun, run_playbook, write_inventory
from support.small_disk import small_disk

from ansible_collections.offsite.mongodb.plugins.module_utils.catalog import Catalog

PREFIX = "faults"
DB = "faults_src"
SMALL_DB = "faults_small"
DISK_FULL = re.compile(r"space|full|ENOSPC|too large|EFBIG", re.IGNORECASE)
ABORT_FAILED = re.compile(r"(could not|couldn't|cannot|failed to|unable to|not) (be )?abort", re.IGNORECASE)
ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_CONFIG_FILE": os.devnull}


# -- servers and data ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def s3_proxy(s3_endpoint, tmp_path_factory):
    if s3_endpoint.real:
        pytest.skip("the fault proxy speaks plain HTTP to the S3 stand-in")
    proxy = start_fault_proxy(
        int(s3_endpoint.endpoint_url.rsplit(":", 1)[1]), "http", tmp_path_factory.mktemp("p")
    )
    yield proxy
    proxy.stop()


@pytest.fixture(scope="module")
def mongo_proxy(mongo_server, tmp_path_factory):
    port = int(mongo_server.uri.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])
    proxy = start_fault_proxy(port, "tcp", tmp_path_factory.mktemp("p"))
    yield proxy
    proxy.stop()


@pytest.fixture(scope="module")
def bucket(s3_endpoint):
    client = s3_endpoint.client()
    name = f"offsite-test-faults-{uuid.uuid4().hex[:8]}"
    client.create_bucket(Bucket=name)
    return name


@pytest.fixture(scope="module")
def data(mongo_server):
    """``faults_src``: ~7 MiB of incompressible documents (two 5 MiB parts); ``faults_small``: 50 documents."""
    client = pymongo.MongoClient(mongo_server.uri)
    client.drop_database(DB)
    client.drop_database(SMALL_DB)
    rng = random.Random(7)
    client[DB]["blobs"].insert_many([{"_id": i, "b": Binary(rng.randbytes(100_000))} for i in range(110)])
    client[SMALL_DB]["items"].insert_many([{"_id": i, "n": i} for i in range(50)])
    yield client
    client.drop_database(DB)
    client.drop_database(SMALL_DB)
    client.close()


class Rig(NamedTuple):
    """What a fault test drives: the direct S3 client, the two proxies, the bucket, background runs."""

    s3: Any
    s3_proxy: Any
    mongo_proxy: Any
    bucket: str
    spawn: Callable[..., background.Background]


@pytest.fixture
def rig(s3_endpoint, s3_proxy, mongo_proxy, bucket, data):
    """Clean proxies (no rules, both up) around each test; each test uses its own backup set."""
    s3_proxy.clear()
    mongo_proxy.clear()
    runs: List[background.Background] = []

    def spawn(kind: str, *args: Any, **kwargs: Any) -> background.Background:
        run = getattr(background, f"start_{kind}")(*args, **kwargs)
        runs.append(run)
        return run

    yield Rig(s3_endpoint.client(), s3_proxy, mongo_proxy, bucket, spawn)
    for run in runs:
        if run.process.poll() is None:
            run.kill()
    s3_proxy.clear()
    mongo_proxy.clear()


def mongo_uri(proxy) -> str:
    return f"mongodb://127.0.0.1:{proxy.port}/?directConnection=true"


def s3_args(rig: Rig, **extra: Any) -> Dict[str, Any]:
    """Catalog options through the S3 proxy; few retries and short timeouts keep failing runs short."""
    args = {
        "bucket": rig.bucket,
        "prefix": PREFIX,
        "endpoint_url": rig.s3_proxy.url,
        "region": "us-east-1",
        "part_size": "5MB",
        "max_concurrency": 2,
        "retries": 2,
        "connect_timeout": 3,
    }
    args.update(extra)
    return args


def new_set() -> str:
    return f"set-{uuid.uuid4().hex[:8]}"


def dump_args(rig: Rig, set_name: str, database: str = DB, **extra: Any) -> Dict[str, Any]:
    """A streamed dump of ``database`` through both proxies into ``set_name``."""
    return {
        **s3_args(rig),
        "uri": mongo_uri(rig.mongo_proxy),
        "set_name": set_name,
        "compression": "none",
        "databases": [database],
        **extra,
    }


STALE_AFTER_SECONDS = 5  # the next backup aborts uploads idle this long (the modules default to 15 minutes)


def stream_dump(rig: Rig, set_name: str, database: str = DB, **extra: Any) -> Dict[str, Any]:
    return run_module("mongo_dump_archive", dump_args(rig, set_name, database, **extra), env=ENV)


def catalog(rig: Rig, **extra: Any) -> Dict[str, Any]:
    return run_module("s3_backup_archive", s3_args(rig, **extra), env=ENV)


def failed(result: Dict[str, Any]) -> str:
    """The failure message of a run that must have failed (asserted one line)."""
    assert result.get("failed") is True, f"the run should have failed: {result.get('_stdout', result)}"
    assert_one_line(result.get("msg"))
    return result["msg"]


def assert_catalog_sound(rig: Rig, set_name: str, *, next_backup: bool = True) -> None:
    """No broken complete backup; no upload left (at the latest after the next backup of the set)."""
    prefix = f"{PREFIX}/{set_name}/"
    assert broken_complete_backups(rig.s3, rig.bucket, prefix) == []
    if multipart_uploads(rig.s3, rig.bucket, prefix) and next_backup:
        rig.s3_proxy.clear()
        rig.mongo_proxy.clear()
        time.sleep(STALE_AFTER_SECONDS)  # what a dead run left is idle by then; a running backup never is
        after = stream_dump(rig, set_name, SMALL_DB, stale_uploads_after=f"{STALE_AFTER_SECONDS}s")
        assert after.get("failed") is not True, after.get("msg")
        assert broken_complete_backups(rig.s3, rig.bucket, prefix) == []
    assert multipart_uploads(rig.s3, rig.bucket, prefix) == [], (
        "the failed run left a multipart upload behind"
    )


def quick_backup(rig: Rig, set_name: str, backup_id: str) -> str:
    """A small complete backup written straight to the stand-in by the engine (no ansible run)."""
    store = Catalog(rig.s3, rig.bucket, PREFIX)
    stream = store.open_upload(set_name, backup_id, "none")
    stream.write(b"not read by these tests " * 200)
    store.commit(
        set_name, backup_id, stream.close(), metadata={"namespaces": [{"ns": "a.b", "documents": 1}]}
    )
    return backup_id


def part_arrived(event) -> bool:
    return event["method"] == "PUT" and "partNumber=" in event["query"]


# -- streamed dump to S3 ------------------------------------------------------------------------
STREAM_FAULTS = {
    "create-upload-500": dict(action="status", method="POST", query="uploads", status=500),
    "part-500": dict(action="status", method="PUT", query="partNumber", status=500),
    "part-503": dict(action="status", method="PUT", query="partNumber", status=503),
    "part-slowdown": dict(action="slowdown", method="PUT", query="partNumber"),
    "part-cut-mid-body": dict(action="cut", method="PUT", query="partNumber", after_bytes=1_000_000),
    "part-reset": dict(action="reset", method="PUT", query="partNumber"),
    "part-reply-cut": dict(action="cut", method="PUT", query="partNumber", direction="down", after_bytes=10),
    "complete-500": dict(action="status", method="POST", query="uploadId", status=500),
    "manifest-500": dict(action="status", method="PUT", path="manifest.json", status=500),
}


@pytest.mark.parametrize("fault", sorted(STREAM_FAULTS))
def test_streamed_dump_fails_cleanly_when_s3_keeps_failing(rig, fault):
    set_name = new_set()
    rig.s3_proxy.add(**STREAM_FAULTS[fault])
    result = stream_dump(rig, set_name)
    failed(result)
    assert manifests(rig.s3, rig.bucket, f"{PREFIX}/{set_name}/") == []
    assert_catalog_sound(rig, set_name)


def test_streamed_dump_rides_out_transient_s3_errors(rig):
    set_name = new_set()
    rig.s3_proxy.add("status", method="PUT", query="partNumber", status=503, count=1)
    rig.s3_proxy.add("slowdown", method="POST", query="uploads", count=1)
    rig.s3_proxy.add("delay", method="PUT", query="partNumber", seconds=1.0, count=1)
    result = stream_dump(rig, set_name)
    assert result.get("failed") is not True, result.get("msg")
    assert len(manifests(rig.s3, rig.bucket, f"{PREFIX}/{set_name}/")) == 1
    assert_catalog_sound(rig, set_name, next_backup=False)


def test_upload_that_cannot_be_aborted_is_named_and_cleaned_by_the_next_backup(rig):
    set_name = new_set()
    rig.s3_proxy.add("status", method="PUT", query="partNumber", status=500)
    rig.s3_proxy.add("status", method="DELETE", query="uploadId", status=500)
    message = failed(stream_dump(rig, set_name))
    assert ABORT_FAILED.search(message), f"the message does not say the upload was left: {message}"
    assert manifests(rig.s3, rig.bucket, f"{PREFIX}/{set_name}/") == []
    assert_catalog_sound(rig, set_name)


def test_s3_going_down_mid_upload(rig):
    set_name = new_set()
    rig.s3_proxy.add("hold", method="PUT", query="partNumber", seconds=1.5, count=1)
    run = rig.spawn(
        "module",
        "mongo_dump_archive",
        dump_args(rig, set_name),
        env=ENV,
    )
    rig.s3_proxy.wait_for(part_arrived)
    rig.s3_proxy.down()
    started = time.monotonic()
    outcome = run.finish(timeout=240)
    assert time.monotonic() - started < 120, "the failing run must give up on S3 within a bounded time"
    [result] = outcome["records"]
    message = failed(result)
    assert ABORT_FAILED.search(message), f"the message does not say the upload was left: {message}"
    rig.s3_proxy.up()
    assert manifests(rig.s3, rig.bucket, f"{PREFIX}/{set_name}/") == []
    assert_catalog_sound(rig, set_name)


def test_s3_down_before_the_dump_starts(rig):
    set_name = new_set()
    rig.s3_proxy.down()
    message = failed(stream_dump(rig, set_name))
    assert str(rig.s3_proxy.port) in message or "S3" in message
    rig.s3_proxy.up()
    assert keys(rig.s3, rig.bucket, f"{PREFIX}/{set_name}/") == []
    assert_catalog_sound(rig, set_name, next_backup=False)


MONGO_FAULTS = {
    "mongo-cut-mid-dump": dict(action="cut", direction="down", after_bytes=3_000_000),
    "mongo-reset-on-connect": dict(action="reset"),
    "mongo-cut-late": dict(action="cut", direction="down", after_bytes=5_500_000),
}


@pytest.mark.parametrize("fault", sorted(MONGO_FAULTS))
def test_streamed_dump_when_mongodb_breaks(rig, fault):
    set_name = new_set()
    rig.mongo_proxy.add(**MONGO_FAULTS[fault])
    failed(stream_dump(rig, set_name, connect_timeout=3))
    assert manifests(rig.s3, rig.bucket, f"{PREFIX}/{set_name}/") == []
    assert_catalog_sound(rig, set_name)


def test_streamed_dump_when_mongodb_is_down(rig):
    set_name = new_set()
    rig.mongo_proxy.down()
    message = failed(stream_dump(rig, set_name, connect_timeout=2))
    assert f"127.0.0.1:{rig.mongo_proxy.port}" in message
    assert keys(rig.s3, rig.bucket, f"{PREFIX}/{set_name}/") == []


def test_sigkill_of_the_dump_module_mid_upload(rig):
    set_name = new_set()
    rig.s3_proxy.add("hold", method="PUT", query="partNumber", seconds=1.0, count=1)
    run = rig.spawn(
        "module",
        "mongo_dump_archive",
        dump_args(rig, set_name),
        env=ENV,
    )
    rig.s3_proxy.wait_for(part_arrived)
    process_tree.kill(process_tree.find_descendant(run.pid, "AnsiballZ_mongo_dump_archive"))
    run.finish()
    assert manifests(rig.s3, rig.bucket, f"{PREFIX}/{set_name}/") == []
    assert multipart_uploads(rig.s3, rig.bucket, f"{PREFIX}/{set_name}/"), (
        "the killed run should have left its upload"
    )
    assert_catalog_sound(rig, set_name)


def test_next_backup_leaves_a_running_backup_of_the_set_alone(rig):
    set_name = new_set()
    rig.s3_proxy.add("hold", method="PUT", query="partNumber", seconds=12, count=1)
    running = rig.spawn(
        "module",
        "mongo_dump_archive",
        dump_args(rig, set_name),
        env=ENV,
    )
    rig.s3_proxy.wait_for(part_arrived)
    second = stream_dump(rig, set_name, SMALL_DB)
    assert second.get("failed") is not True, second.get("msg")
    [first] = running.finish()["records"]
    assert first.get("failed") is not True, f"the second backup broke the running one: {first.get('msg')}"
    assert len(manifests(rig.s3, rig.bucket, f"{PREFIX}/{set_name}/")) == 2
    assert_catalog_sound(rig, set_name, next_backup=False)


# -- s3_backup_archive: put, get, list, delete, prune --------------------------------------------
@pytest.fixture(scope="module")
def archive_file(tmp_path_factory, mongo_server, data):
    """A real 7 MiB uncompressed dump of ``faults_src`` (three parts) for put tests."""
    path = tmp_path_factory.mktemp("archive") / "src.archive"
    result = run_module(
        "mongo_dump_archive",
        {"uri": mongo_server.uri, "dest": str(path), "compression": "none", "databases": [DB]},
    )
    assert result.get("failed") is not True, result.get("msg")
    return path, result


PUT_FAULTS = {
    "put-part-500": dict(action="status", method="PUT", query="partNumber", status=500),
    "put-part-cut": dict(action="cut", method="PUT", query="partNumber", after_bytes=500_000),
    "put-complete-503": dict(action="status", method="POST", query="uploadId", status=503),
    "put-manifest-cut": dict(action="cut", method="PUT", path="manifest.json", after_bytes=100),
}


@pytest.mark.parametrize("fault", sorted(PUT_FAULTS))
def test_put_fails_cleanly(rig, fault, archive_file, tmp_path):
    path, dump = archive_file
    set_name = new_set()
    rig.s3_proxy.add(**PUT_FAULTS[fault])
    put = dict(
        mode="put", set_name=set_name, src=str(path), sha256=dump["sha256"], metadata={"compression": "none"}
    )
    failed(catalog(rig, **put))
    assert manifests(rig.s3, rig.bucket, f"{PREFIX}/{set_name}/") == []
    assert path.exists()  # the source is never touched
    assert_catalog_sound(rig, set_name)


def test_put_when_s3_is_down(rig, archive_file):
    path, _unused = archive_file
    set_name = new_set()
    rig.s3_proxy.down()
    message = failed(catalog(rig, mode="put", set_name=set_name, src=str(path)))
    assert "S3" in message or str(rig.s3_proxy.port) in message
    rig.s3_proxy.up()
    assert keys(rig.s3, rig.bucket, f"{PREFIX}/{set_name}/") == []


@pytest.fixture(scope="module")
def stored(s3_endpoint, bucket, archive_file, mongo_server):
    """One complete backup of ``faults_small`` (set ``stored``) for get/restore/delete tests."""
    result = run_module(
        "mongo_dump_archive",
        {
            "uri": mongo_server.uri,
            "bucket": bucket,
            "prefix": PREFIX,
            "endpoint_url": s3_endpoint.endpoint_url,
            "region": "us-east-1",
            "set_name": "stored",
            "databases": [SMALL_DB],
        },
        env=ENV,
    )
    assert result.get("failed") is not True, result.get("msg")
    return result


GET_FAULTS = {
    "get-body-cut": dict(action="cut", method="GET", path="mongodump", direction="down", after_bytes=300),
    "get-500": dict(action="status", method="GET", path="mongodump", status=500),
    "get-reset": dict(action="reset", method="GET", path="mongodump"),
    "get-manifest-500": dict(action="status", method="GET", path="manifest.json", status=500),
}


@pytest.mark.parametrize("fault", sorted(GET_FAULTS))
def test_get_leaves_no_partial_file(rig, fault, stored, tmp_path):
    dest_dir = tmp_path / "dl"
    dest_dir.mkdir()
    rig.s3_proxy.add(**GET_FAULTS[fault])
    failed(catalog(rig, mode="get", set_name="stored", dest=str(dest_dir / "a.archive")))
    assert leftovers([dest_dir]) == []


def test_get_on_a_full_disk(rig, stored, archive_file, tmp_path):
    # a backup bigger than the disk: the 7 MiB archive stored once
    path, dump = archive_file
    set_name = new_set()
    put = dict(
        mode="put", set_name=set_name, src=str(path), sha256=dump["sha256"], metadata={"compression": "none"}
    )
    assert catalog(rig, **put).get("failed") is not True
    with small_disk(tmp_path / "small", size_kib=512) as (small, limit):
        args = s3_args(rig, mode="get", set_name=set_name, dest=str(small / "a.archive"))
        [result] = rig.spawn("module", "s3_backup_archive", args, env=ENV, preexec_fn=limit).finish()[
            "records"
        ]
        message = failed(result)
        assert DISK_FULL.search(message), message
        assert leftovers([small]) == []


def test_sigkill_during_get_leaves_no_partial_file_after_the_next_get(rig, stored, tmp_path):
    dest_dir = tmp_path / "dl"
    dest_dir.mkdir()
    rig.s3_proxy.add("hold", method="GET", path="mongodump", seconds=5, count=1)
    args = s3_args(rig, mode="get", set_name="stored", dest=str(dest_dir / "a.archive"), retries=3)
    run = rig.spawn("module", "s3_backup_archive", args, env=ENV)
    rig.s3_proxy.wait_for(
        lambda e: e["method"] == "GET" and "mongodump" in e["path"] and e["action"] == "hold"
    )
    process_tree.kill(process_tree.find_descendant(run.pid, "AnsiballZ_s3_backup_archive"))
    run.finish()
    assert not (dest_dir / "a.archive").exists()
    rig.s3_proxy.clear()
    again = catalog(rig, mode="get", set_name="stored", dest=str(dest_dir / "a.archive"))
    assert again.get("failed") is not True, again.get("msg")
    assert leftovers([dest_dir]) == [str(dest_dir / "a.archive")], "a partial download was left behind"


@pytest.mark.parametrize(
    "mode,fault",
    [
        ("list", dict(action="status", method="GET", query="list-type", status=500)),
        ("list", dict(action="reset", method="GET")),
        ("prune", dict(action="status", method="GET", query="uploads", status=503)),
    ],
    ids=["list-500", "list-reset", "prune-list-uploads-503"],
)
def test_catalog_reads_fail_in_one_line(rig, mode, fault, stored):
    rig.s3_proxy.add(**fault)
    extra = {"set_name": "stored", "keep_last": 5} if mode == "prune" else {}
    failed(catalog(rig, mode=mode, **extra))
    rig.s3_proxy.clear()
    assert broken_complete_backups(rig.s3, rig.bucket, f"{PREFIX}/stored/") == []


@pytest.mark.parametrize("target", ["archive", "manifest"])
def test_interrupted_delete_never_leaves_a_broken_complete_backup(rig, target):
    set_name = new_set()
    backup_id = quick_backup(rig, set_name, "20260101T000000Z")
    path = "manifest.json" if target == "manifest" else "mongodump"
    rig.s3_proxy.add("status", method="DELETE", path=path, status=500)
    rig.s3_proxy.add("status", method="POST", query="delete", status=500)
    failed(catalog(rig, mode="delete", set_name=set_name, backup_id=backup_id))
    rig.s3_proxy.clear()
    assert broken_complete_backups(rig.s3, rig.bucket, f"{PREFIX}/{set_name}/") == []


def test_interrupted_prune_never_leaves_a_broken_complete_backup(rig):
    set_name = new_set()
    for second in ("00", "01"):
        quick_backup(rig, set_name, f"20260101T0000{second}Z")
    rig.s3_proxy.add("status", method="DELETE", path="mongodump", status=500)
    rig.s3_proxy.add("status", method="POST", query="delete", status=500)
    failed(catalog(rig, mode="prune", set_name=set_name, keep_last=1))
    rig.s3_proxy.clear()
    assert broken_complete_backups(rig.s3, rig.bucket, f"{PREFIX}/{set_name}/") == []
    listing = catalog(rig, mode="list", set_name=set_name)
    assert [b["backup_id"] for b in listing["backups"] if b["complete"]][:1] == ["20260101T000001Z"]


# -- playbooks: staged backup, stream, restore -------------------------------------------------
def inventory(tmp_path: Path, s3_proxy, mongo_uri_: str, bucket: str, **host_vars: Any) -> Path:
    staging = tmp_path / "staging"
    staging.mkdir(exist_ok=True)
    return write_inventory(
        tmp_path / "hosts.yml",
        {
            "offsite_mongodb_connection": {"uri": mongo_uri_, "connect_timeout": 3},
            "offsite_s3_connection": {
                "endpoint_url": s3_proxy.url,
                "region": "us-east-1",
                "access_key": "testing",
                "secret_key": "testing",
                "retries": 2,
                "connect_timeout": 3,
            },
            "offsite_s3_bucket": bucket,
            "offsite_s3_prefix": PREFIX,
            "backup_staging_dir": str(staging),
            "backup_consistency": "none",  # nx-27017: a standalone whose fsync lock auto would need is a no-op
            "restore_staging_dir": str(staging),
            "backup_retention": {},
            "backup_compression": "none",
            **host_vars,
        },
    )


def playbook_failure(run) -> str:
    """The cause of a failed playbook: its first failure (a role's rescue adds one short line naming the step).

    Every failure is asserted one line.
    """
    assert run.rc != 0, run.tail()
    messages = [m for m in run.failures() if m]
    assert messages, run.tail()
    for message in messages:
        assert_one_line(message)
    return messages[0]


def test_staged_backup_on_a_full_disk(rig, tmp_path):
    set_name = new_set()
    with small_disk(tmp_path / "small", size_kib=512) as (small, limit):
        hosts = inventory(
            tmp_path, rig.s3_proxy, mongo_uri(rig.mongo_proxy), rig.bucket,
            backup_set_name=set_name, backup_staging="disk", backup_databases=[DB], backup_staging_dir=str(small),
        )  # fmt: skip
        outcome = rig.spawn("playbook", "offsite.mongodb.backup", hosts, preexec_fn=limit).finish()
        message = playbook_failure(PlaybookRun(outcome["rc"], outcome["output"], "", outcome["records"]))
        assert DISK_FULL.search(message), message
        assert leftovers([small]) == []
    assert keys(rig.s3, rig.bucket, f"{PREFIX}/{set_name}/") == []


def test_staged_backup_when_the_upload_fails(rig, tmp_path):
    set_name = new_set()
    hosts = inventory(
        tmp_path, rig.s3_proxy, mongo_uri(rig.mongo_proxy), rig.bucket,
        backup_set_name=set_name, backup_staging="disk", backup_databases=[DB],
    )  # fmt: skip
    rig.s3_proxy.add("status", method="PUT", query="partNumber", status=500)
    playbook_failure(run_playbook("backup", hosts))
    assert leftovers([tmp_path / "staging"]) == []
    assert manifests(rig.s3, rig.bucket, f"{PREFIX}/{set_name}/") == []
    assert_catalog_sound(rig, set_name)


def test_sigkill_of_the_dump_when_the_staging_file_appears(rig, tmp_path):
    set_name = new_set()
    hosts = inventory(
        tmp_path, rig.s3_proxy, mongo_uri(rig.mongo_proxy), rig.bucket,
        backup_set_name=set_name, backup_staging="disk", backup_databases=[DB],
    )  # fmt: skip
    rig.mongo_proxy.add("delay", direction="down", seconds=0.02)
    run = rig.spawn("playbook", "offsite.mongodb.backup", hosts)
    staging = tmp_path / "staging"
    deadline = time.monotonic() + 60
    while not any(p.is_file() for p in staging.rglob("*")) and time.monotonic() < deadline:
        time.sleep(0.02)
    process_tree.kill(process_tree.find_descendant(run.pid, "AnsiballZ_mongo_dump_archive"))
    outcome = run.finish()
    assert outcome["rc"] != 0
    assert leftovers([staging]) == [], "the staging directory outlived the failed run"
    assert keys(rig.s3, rig.bucket, f"{PREFIX}/{set_name}/") == []


def test_sigkill_of_ansible_playbook_mid_staging_is_cleaned_by_the_next_run(rig, tmp_path):
    set_name = new_set()
    hosts = inventory(
        tmp_path, rig.s3_proxy, mongo_uri(rig.mongo_proxy), rig.bucket,
        backup_set_name=set_name, backup_staging="disk", backup_databases=[DB],
    )  # fmt: skip
    rig.mongo_proxy.add("delay", direction="down", seconds=0.02)
    run = rig.spawn("playbook", "offsite.mongodb.backup", hosts)
    staging = tmp_path / "staging"
    deadline = time.monotonic() + 60
    while not any(p.is_file() for p in staging.rglob("*")) and time.monotonic() < deadline:
        time.sleep(0.02)
    for pid in [run.pid, *process_tree.descendants(run.pid)]:
        process_tree.kill(pid)
    run.finish()
    rig.mongo_proxy.clear()
    time.sleep(1.5)
    # The role removes staging directories untouched for backup_staging_stale_after (2 days by default, so that no
    # run still uploading loses its file); a short value here stands for "much later".
    again = run_playbook(
        "backup", hosts, extra_vars={"backup_databases": [SMALL_DB], "backup_staging_stale_after": "1s"}
    )
    assert again.rc == 0, again.tail()
    assert leftovers([staging]) == [], "the killed run's staging files are still there after the next backup"


def test_sigkill_of_ansible_playbook_mid_stream_is_cleaned_by_the_next_backup(rig, tmp_path):
    set_name = new_set()
    hosts = inventory(
        tmp_path, rig.s3_proxy, mongo_uri(rig.mongo_proxy), rig.bucket,
        backup_set_name=set_name, backup_staging="stream", backup_databases=[DB],
    )  # fmt: skip
    rig.s3_proxy.add("hold", method="PUT", query="partNumber", seconds=2, count=1)
    run = rig.spawn("playbook", "offsite.mongodb.backup", hosts)
    rig.s3_proxy.wait_for(part_arrived)
    for pid in [run.pid, *process_tree.descendants(run.pid)]:
        process_tree.kill(pid)
    run.finish()
    assert manifests(rig.s3, rig.bucket, f"{PREFIX}/{set_name}/") == []
    assert_catalog_sound(rig, set_name)


RESTORE_FAULTS = {
    "restore-download-cut": (
        "s3",
        dict(action="cut", method="GET", path="mongodump", direction="down", after_bytes=300),
    ),
    "restore-download-503": ("s3", dict(action="status", method="GET", path="mongodump", status=503)),
    "restore-mongodb-cut": ("mongo", dict(action="cut", direction="up", after_bytes=1500)),
    "restore-mongodb-down": ("mongo", None),
}


@pytest.mark.parametrize("fault", sorted(RESTORE_FAULTS))
def test_restore_playbook_fails_cleanly(rig, fault, stored, tmp_path, mongo_server):
    target = f"faults_restored_{uuid.uuid4().hex[:6]}"
    hosts = inventory(
        tmp_path, rig.s3_proxy, mongo_uri(rig.mongo_proxy), rig.bucket,
        restore_set_name="stored", restore_ns_from=[f"{SMALL_DB}.*"], restore_ns_to=[f"{target}.*"],
    )  # fmt: skip
    side, rule = RESTORE_FAULTS[fault]
    proxy = rig.s3_proxy if side == "s3" else rig.mongo_proxy
    if rule is None:
        proxy.down()
    else:
        proxy.add(**rule)
    playbook_failure(run_playbook("restore", hosts))
    assert leftovers([tmp_path / "staging"]) == []
    if side == "s3":
        with pymongo.MongoClient(mongo_server.uri) as client:
            assert target not in client.list_database_names()


# -- lock + dump (scripted nodes) ----------------------------------------------------------------
def test_failed_dump_under_the_lock_unlocks_the_node(rig, fsync_fake, tmp_path):
    set_name = new_set()
    hosts = inventory(
        tmp_path, rig.s3_proxy, fsync_fake.uri, rig.bucket,
        backup_set_name=set_name, backup_consistency="lock", backup_lock_lease_dir=str(tmp_path / "leases"),
    )  # fmt: skip
    run = run_playbook("backup", hosts)
    playbook_failure(run)
    assert run.ran("Lock the node against writes, with a lease"), run.tail()
    assert fsync_fake.lock_count == 0, "the node was left locked"
    assert leftovers([tmp_path / "staging"]) == []
    assert keys(rig.s3, rig.bucket, f"{PREFIX}/{set_name}/") == []


def test_node_unreachable_at_unlock_is_released_by_the_lease(fsync_fake, tmp_path, tmp_path_factory):
    proxy = start_fault_proxy(fsync_fake.port, "tcp", tmp_path_factory.mktemp("p"))
    try:
        uri = f"mongodb://127.0.0.1:{proxy.port}/?directConnection=true"
        args = {"uri": uri, "lease_dir": str(tmp_path / "leases"), "connect_timeout": 2}
        locked = run_module("mongo_fsync_lock", {**args, "state": "locked", "lease_seconds": 4})
        assert locked.get("failed") is not True, locked.get("msg")
        proxy.down()
        failed(run_module("mongo_fsync_lock", {**args, "state": "unlocked"}))
        proxy.up()
        deadline = time.monotonic() + 30
        while fsync_fake.lock_count and time.monotonic() < deadline:
            time.sleep(0.2)
        assert fsync_fake.lock_count == 0, (
            "the lease did not release the lock once the node was reachable again"
        )
    finally:
        proxy.stop()


def test_killed_playbook_after_the_lock_is_released_by_the_lease(rig, fsync_fake, tmp_path):
    hosts = inventory(
        tmp_path, rig.s3_proxy, fsync_fake.uri, rig.bucket,
        backup_set_name=new_set(), backup_consistency="lock", backup_lock_lease_seconds=3,
        backup_lock_lease_dir=str(tmp_path / "leases"),
    )  # fmt: skip
    run = rig.spawn("playbook", "offsite.mongodb.backup", hosts)
    deadline = time.monotonic() + 60
    while fsync_fake.lock_count == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    for pid in [run.pid, *process_tree.descendants(run.pid)]:
        if "watchdog" not in process_tree.cmdline(pid):
            process_tree.kill(pid)
    run.finish()
    deadline = time.monotonic() + 20
    while fsync_fake.lock_count and time.monotonic() < deadline:
        time.sleep(0.2)
    assert fsync_fake.lock_count == 0, "the node stayed locked after the playbook was killed"
