"""Bad input to every module option and role variable: one clear line, and nothing written.

The module cases run as the tasks of ONE ``ansible-playbook`` run (``ignore_errors``), the role
cases as one play per case in a second run (each on its own host alias, so one failure does not
stop the others); each result comes back through the JSON callback. Each case writes only under
its own S3 prefix, its own output directory and its own database name, so "nothing written" is
checked per case after the batch.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Sequence, Tuple

import pymongo
import pytest
import yaml
from support import background
from support.ansible_runner import run_module
from support.catalog_checks import assert_one_line, keys, multipart_uploads
from support.fsync_fake import FsyncFake
from support.processes import free_port
from support.small_disk import can_mount, full_disk

from ansible_collections.offsite.mongodb.plugins.module_utils._tasks.catalog import put_backup
from ansible_collections.offsite.mongodb.plugins.module_utils.catalog import Catalog
from ansible_collections.offsite.mongodb.tests.unit.helpers.archives import random_archive

ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_CONFIG_FILE": os.devnull}
SEEDED = "seeded"  # the prefix of the one complete backup that get/restore cases read
SEED_SET = "rs0"
SEED_DB = "badinput_src"
WITHOUT_AWS_ENVIRONMENT = {"access-without-secret", "token-without-keys"}  # the env would complete the pair


@dataclass(frozen=True)
class Context:
    """What the cases point at: the servers, the scratch files and each case's private places."""

    mongo: str
    fake: str
    endpoint: str
    bucket: str
    scratch: Path
    dead_port: int

    def out(self, case: str) -> Path:
        """The case's own output directory (created, must stay empty)."""
        return self.scratch / "out" / case

    def s3(self, case: str, **extra: Any) -> Dict[str, Any]:
        return {
            "bucket": self.bucket,
            "prefix": f"bad/{case}",
            "endpoint_url": self.endpoint,
            "region": "us-east-1",
            **extra,
        }

    def seeded(self, **extra: Any) -> Dict[str, Any]:
        return {
            "bucket": self.bucket,
            "prefix": SEEDED,
            "endpoint_url": self.endpoint,
            "region": "us-east-1",
            **extra,
        }

    def file(self, name: str) -> str:
        return str(self.scratch / "in" / name)


@dataclass(frozen=True)
class Case:
    id: str
    module: str
    args: Callable[[Context, str], Dict[str, Any]]
    needles: Tuple[str, ...]  # each must appear in the message (case-insensitive)


def c(case_id: str, module: str, args: Callable[[Context, str], Dict[str, Any]], *needles: str) -> Case:
    return Case(case_id, module, args, needles)


DUMP, RESTORE, LOCK, DROP, CATALOG = (
    "mongo_dump_archive",
    "mongo_restore_archive",
    "mongo_fsync_lock",
    "mongo_drop_database",
    "s3_backup_archive",
)


def dump_file(x: Context, case: str, **extra: Any) -> Dict[str, Any]:
    return {
        "uri": x.mongo,
        "connect_timeout": 2,
        "dest": str(x.out(case) / "a.archive"),
        "databases": [SEED_DB],
        **extra,
    }


def dump_s3(x: Context, case: str, **extra: Any) -> Dict[str, Any]:
    return {
        "uri": x.mongo,
        "connect_timeout": 2,
        **x.s3(case),
        "set_name": "rs0",
        "databases": [SEED_DB],
        **extra,
    }


def target_database(case: str) -> str:
    """The only database a case may name as a target (it must not exist afterwards)."""
    return "bad_" + case.replace("-", "_")


def restore(x: Context, case: str, **extra: Any) -> Dict[str, Any]:
    args = {
        "uri": x.mongo,
        "connect_timeout": 2,
        "src": x.file("good.archive"),
        "ns_from": [f"{SEED_DB}.*"],
        "ns_to": [f"{target_database(case)}.*"],
    }
    args.update(extra)
    return args


def put(x: Context, case: str, **extra: Any) -> Dict[str, Any]:
    return {**x.s3(case), "mode": "put", "set_name": "rs0", "src": x.file("good.archive"), **extra}


def get(x: Context, case: str, **extra: Any) -> Dict[str, Any]:
    return {
        **x.seeded(),
        "mode": "get",
        "set_name": SEED_SET,
        "dest": str(x.out(case) / "a.archive"),
        **extra,
    }


def s3_mode(mode: str, **fixed: Any) -> Callable[[Context, str], Dict[str, Any]]:
    return lambda x, case: {**x.s3(case), "mode": mode, "set_name": "rs0", **fixed}


def lock(x: Context, case: str, **extra: Any) -> Dict[str, Any]:
    return {
        "uri": x.fake,
        "connect_timeout": 2,
        "state": "locked",
        "lease_seconds": 60,
        "lease_dir": str(x.out(case) / "leases"),
        **extra,
    }


MODULE_CASES: List[Case] = [
    # -- the MongoDB connection options (through mongo_dump_archive, the same code serves every module)
    c("uri-scheme", DUMP, lambda x, k: dump_file(x, k, uri="http://127.0.0.1:1"), "uri"),
    c("uri-bad-port", DUMP, lambda x, k: dump_file(x, k, uri="mongodb://127.0.0.1:notaport/"), "uri"),
    c("uri-no-host", DUMP, lambda x, k: dump_file(x, k, uri="mongodb://"), "uri"),
    c(
        "uri-port-range",
        DUMP,
        lambda x, k: dump_file(x, k, uri="mongodb://127.0.0.1:99999/"),
        "uri",
    ),
    c("uri-and-login-host", DUMP, lambda x, k: dump_file(x, k, login_host="127.0.0.1"), "uri", "login_host"),
    c(
        "login-port-range",
        DUMP,
        lambda x, k: {**dump_file(x, k), "uri": None, "login_port": 70000},
        "login_port",
    ),
    c("login-port-zero", DUMP, lambda x, k: {**dump_file(x, k), "uri": None, "login_port": 0}, "login_port"),
    c("password-without-user", DUMP, lambda x, k: dump_file(x, k, login_password="pw"), "login_user"),
    c("connect-timeout-zero", DUMP, lambda x, k: dump_file(x, k, connect_timeout=0), "connect_timeout"),
    c(
        "tls-ca-missing",
        DUMP,
        lambda x, k: dump_file(x, k, tls=True, tls_ca_file="/nonexistent/ca.pem"),
        "tls_ca_file",
    ),
    c(
        "tls-cert-missing",
        DUMP,
        lambda x, k: dump_file(x, k, tls=True, tls_certificate_key_file="/nonexistent/client.pem"),
        "tls_certificate_key_file",
    ),
    c(
        "tls-ca-not-pem",
        DUMP,
        lambda x, k: dump_file(x, k, tls=True, tls_ca_file=x.file("text.txt")),
        "tls_ca_file",
    ),
    c(
        "unreachable-node",
        DUMP,
        lambda x, k: dump_file(x, k, uri=f"mongodb://127.0.0.1:{x.dead_port}/", connect_timeout=1),
        "127.0.0.1",
    ),
    # -- the S3 connection and storage options (through s3_backup_archive put)
    c("bucket-name", CATALOG, lambda x, k: put(x, k, bucket="Bad_Bucket!"), "bucket"),
    c("endpoint-scheme", CATALOG, lambda x, k: put(x, k, endpoint_url="127.0.0.1:9000"), "endpoint_url"),
    c("access-without-secret", CATALOG, lambda x, k: put(x, k, access_key="AKIAONLY"), "secret_key"),
    c(
        "token-without-keys",
        DUMP,
        lambda x, k: dump_s3(x, k, session_token="FwoGZXIvYXdzEXAMPLE7offsite"),
        "session_token",
    ),
    c("retries-negative", CATALOG, lambda x, k: put(x, k, retries=-1), "retries"),
    c("s3-timeout-zero", CATALOG, lambda x, k: put(x, k, connect_timeout=0), "connect_timeout"),
    c("retry-mode", CATALOG, lambda x, k: put(x, k, retry_mode="eager"), "retry_mode"),
    c("max-concurrency-zero", CATALOG, lambda x, k: put(x, k, max_concurrency=0), "max_concurrency"),
    c("max-concurrency-negative", DUMP, lambda x, k: dump_s3(x, k, max_concurrency=-3), "max_concurrency"),
    c("part-size-garbage", CATALOG, lambda x, k: put(x, k, part_size="lots"), "part_size"),
    c("encryption-choice", CATALOG, lambda x, k: put(x, k, encryption="rot13"), "encryption"),
    c(
        "kms-without-kms",
        CATALOG,
        lambda x, k: put(x, k, kms_key_id="key-1", encryption="AES256"),
        "kms_key_id",
    ),
    c(
        "lock-mode-without-days",
        CATALOG,
        lambda x, k: put(x, k, object_lock_mode="GOVERNANCE"),
        "object_lock",
    ),
    c(
        "lock-days-negative",
        CATALOG,
        lambda x, k: put(x, k, object_lock_mode="GOVERNANCE", object_lock_days=-1),
        "object_lock_days",
    ),
    c("tags-not-dict", CATALOG, lambda x, k: put(x, k, tags=["a", "b"]), "tags"),
    # -- mongo_dump_archive
    c("dump-no-target", DUMP, lambda x, k: {"uri": x.mongo, "databases": [SEED_DB]}, "dest", "bucket"),
    c("dump-both-targets", DUMP, lambda x, k: dump_file(x, k, bucket=x.bucket), "dest", "bucket"),
    c("dump-bucket-no-set", DUMP, lambda x, k: {**dump_s3(x, k), "set_name": None}, "set_name"),
    c(
        "dump-dest-dir-missing",
        DUMP,
        lambda x, k: dump_file(x, k, dest=str(x.out(k) / "no" / "a.archive")),
        "dest",
    ),
    c("dump-dest-is-dir", DUMP, lambda x, k: dump_file(x, k, dest=str(x.out(k))), "dest"),
    c("dump-dest-exists", DUMP, lambda x, k: dump_file(x, k, dest=x.file("text.txt")), "force"),
    c("dump-compression", DUMP, lambda x, k: dump_file(x, k, compression="lz4"), "compression"),
    c(
        "dump-gzip-level",
        DUMP,
        lambda x, k: dump_file(x, k, compression="gzip", compression_level=99),
        "compression_level",
    ),
    c(
        "dump-zstd-level",
        DUMP,
        lambda x, k: dump_file(x, k, compression="zstd", compression_level=40),
        "compression_level",
    ),
    c(
        "dump-parallel-zero",
        DUMP,
        lambda x, k: dump_file(x, k, parallel_collections=0),
        "parallel_collections",
    ),
    c(
        "dump-query-json",
        DUMP,
        lambda x, k: dump_file(x, k, query={f"{SEED_DB}.items": "{bad json"}),
        "query",
    ),
    c("dump-query-array", DUMP, lambda x, k: dump_file(x, k, query={f"{SEED_DB}.items": "[1, 2]"}), "query"),
    c("dump-consistency", DUMP, lambda x, k: dump_file(x, k, consistency="strong"), "consistency"),
    c("dump-oplog-standalone", DUMP, lambda x, k: dump_file(x, k, consistency="oplog"), "oplog"),
    c("dump-engine-s3", DUMP, lambda x, k: dump_s3(x, k, engine="mongodump"), "engine"),
    c(
        "dump-mongodump-path",
        DUMP,
        lambda x, k: dump_file(x, k, engine="mongodump", mongodump_path="/nonexistent/mongodump"),
        "mongodump",
    ),
    c("dump-id-month-13", DUMP, lambda x, k: dump_s3(x, k, backup_id="20261301T000000Z"), "backup_id"),
    c("dump-id-hour-25", DUMP, lambda x, k: dump_s3(x, k, backup_id="20261101T250000Z"), "backup_id"),
    c("dump-id-garbage", DUMP, lambda x, k: dump_s3(x, k, backup_id="yesterday"), "backup_id"),
    c("dump-set-slash", DUMP, lambda x, k: dump_s3(x, k, set_name="a/b"), "set_name"),
    c("dump-set-dots", DUMP, lambda x, k: dump_s3(x, k, set_name=".."), "set_name"),
    c("dump-labels-not-dict", DUMP, lambda x, k: dump_s3(x, k, labels="nightly"), "labels"),
    # -- mongo_restore_archive
    c("restore-src-missing", RESTORE, lambda x, k: restore(x, k, src=x.file("none.archive")), "src"),
    c("restore-src-dir", RESTORE, lambda x, k: restore(x, k, src=str(x.scratch / "in")), "src"),
    c("restore-random-bytes", RESTORE, lambda x, k: restore(x, k, src=x.file("random.bin")), "archive"),
    c("restore-text-file", RESTORE, lambda x, k: restore(x, k, src=x.file("text.txt")), "archive"),
    c("restore-sha-not-hex", RESTORE, lambda x, k: restore(x, k, sha256="xyz"), "sha256"),
    c("restore-sha-mismatch", RESTORE, lambda x, k: restore(x, k, sha256="0" * 64), "src"),
    c("restore-ns-from-alone", RESTORE, lambda x, k: {**restore(x, k), "ns_to": None}, "ns_from", "ns_to"),
    c(
        "restore-ns-lengths",
        RESTORE,
        lambda x, k: restore(x, k, ns_to=[f"{target_database(k)}.*", "other.*"]),
        "ns_to",
    ),
    c(
        "restore-ns-to-admin",
        RESTORE,
        lambda x, k: restore(x, k, ns_from=[f"{SEED_DB}.items"], ns_to=[f"admin.{target_database(k)}"]),
        "admin",
    ),
    c(
        "restore-ns-to-local",
        RESTORE,
        lambda x, k: restore(x, k, ns_from=[f"{SEED_DB}.items"], ns_to=[f"local.{target_database(k)}"]),
        "local",
    ),
    c(
        "restore-ns-to-config",
        RESTORE,
        lambda x, k: restore(x, k, ns_from=[f"{SEED_DB}.items"], ns_to=[f"config.{target_database(k)}"]),
        "config",
    ),
    c(
        "restore-into-config-directly",
        RESTORE,
        lambda x, k: {"uri": x.mongo, "src": x.file("config.archive")},
        "config",
    ),
    c(
        "restore-parallel-zero",
        RESTORE,
        lambda x, k: restore(x, k, parallel_collections=0),
        "parallel_collections",
    ),
    c("restore-workers-zero", RESTORE, lambda x, k: restore(x, k, insertion_workers=0), "insertion_workers"),
    c(
        "restore-engine-path",
        RESTORE,
        lambda x, k: restore(x, k, engine="mongorestore", mongorestore_path="/nonexistent/mongorestore"),
        "mongorestore",
    ),
    c("restore-oplog-missing", RESTORE, lambda x, k: restore(x, k, oplog_replay=True), "oplog"),
    # -- mongo_fsync_lock
    c("lock-state", LOCK, lambda x, k: lock(x, k, state="frozen"), "state"),
    c("lock-lease-zero", LOCK, lambda x, k: lock(x, k, lease_seconds=0), "lease_seconds"),
    c("lock-lease-negative", LOCK, lambda x, k: lock(x, k, lease_seconds=-5), "lease_seconds"),
    c("lock-lease-huge", LOCK, lambda x, k: lock(x, k, lease_seconds=10**12), "lease_seconds"),
    c("lock-lease-dir-file", LOCK, lambda x, k: lock(x, k, lease_dir=x.file("text.txt")), "lease_dir"),
    c(
        "lock-lease-dir-under-file",
        LOCK,
        lambda x, k: lock(x, k, lease_dir=x.file("text.txt") + "/sub"),
        "lease_dir",
    ),
    # -- mongo_drop_database
    c("drop-admin", DROP, lambda x, k: {"uri": x.mongo, "connect_timeout": 2, "names": ["admin"]}, "admin"),
    c("drop-local", DROP, lambda x, k: {"uri": x.mongo, "connect_timeout": 2, "names": ["local"]}, "local"),
    c(
        "drop-config",
        DROP,
        lambda x, k: {"uri": x.mongo, "connect_timeout": 2, "names": ["config"]},
        "config",
    ),
    c("drop-empty-name", DROP, lambda x, k: {"uri": x.mongo, "connect_timeout": 2, "names": [""]}, "empty"),
    # -- s3_backup_archive
    c("catalog-mode", CATALOG, s3_mode("copy"), "mode"),
    c("put-no-set", CATALOG, lambda x, k: {**put(x, k), "set_name": None}, "set_name"),
    c("put-no-src", CATALOG, lambda x, k: {**put(x, k), "src": None}, "src"),
    c("put-src-missing", CATALOG, lambda x, k: put(x, k, src=x.file("none.archive")), "src"),
    c("put-src-dir", CATALOG, lambda x, k: put(x, k, src=str(x.scratch / "in")), "src"),
    c("put-random-bytes", CATALOG, lambda x, k: put(x, k, src=x.file("random.bin")), "src"),
    c("put-text-file", CATALOG, lambda x, k: put(x, k, src=x.file("text.txt")), "src"),
    c("put-id-month-13", CATALOG, lambda x, k: put(x, k, backup_id="20261301T000000Z"), "backup_id"),
    c("put-id-hour-25", CATALOG, lambda x, k: put(x, k, backup_id="20261101T250000Z"), "backup_id"),
    c("put-sha-not-hex", CATALOG, lambda x, k: put(x, k, sha256="nothex"), "sha256"),
    c(
        "put-started-at",
        CATALOG,
        lambda x, k: put(x, k, metadata={"started_at": "last tuesday"}),
        "started_at",
    ),
    c(
        "put-started-at-range",
        CATALOG,
        lambda x, k: put(x, k, metadata={"started_at": "2026-13-45T99:00:00Z"}),
        "started_at",
    ),
    c("get-no-dest", CATALOG, lambda x, k: {**get(x, k), "dest": None}, "dest"),
    c("get-dest-parent-missing", CATALOG, lambda x, k: get(x, k, dest=str(x.out(k) / "no" / "a")), "dest"),
    c(
        "get-dest-read-only",
        CATALOG,
        lambda x, k: get(x, k, dest=str(x.scratch / "ro" / "a.archive")),
        "dest",
    ),
    c("get-id-garbage", CATALOG, lambda x, k: get(x, k, backup_id="last-week"), "backup_id"),
    c("get-id-missing", CATALOG, lambda x, k: get(x, k, backup_id="20200101T000000Z"), "20200101T000000Z"),
    c("get-before-garbage", CATALOG, lambda x, k: get(x, k, before="soonish"), "before"),
    c("get-before-range", CATALOG, lambda x, k: get(x, k, before="99999999999d"), "before"),
    c("get-before-month-13", CATALOG, lambda x, k: get(x, k, before="2026-13-01"), "before"),
    c("list-since", CATALOG, lambda x, k: {**x.s3(k), "mode": "list", "since": "the dawn of time"}, "since"),
    c(
        "list-until-range",
        CATALOG,
        lambda x, k: {**x.s3(k), "mode": "list", "until": "99999999999w"},
        "until",
    ),
    c("delete-unconfirmed", CATALOG, s3_mode("delete"), "confirm_delete_all"),
    c("delete-id-garbage", CATALOG, s3_mode("delete", backup_id="../../etc"), "backup_id"),
    c("prune-keep-negative", CATALOG, s3_mode("prune", keep_last=-2), "keep_last"),
    c("prune-keep-within", CATALOG, s3_mode("prune", keep_within="forever"), "keep_within"),
    c("prune-keep-within-range", CATALOG, s3_mode("prune", keep_within="99999999999d"), "keep_within"),
    c(
        "prune-abandoned-after",
        CATALOG,
        s3_mode("prune", keep_last=1, abandoned_after="later"),
        "abandoned_after",
    ),
    c("prune-set-slash", CATALOG, s3_mode("prune", set_name="a/b", keep_last=1), "set_name"),
]


# -- role variables: one play per case ------------------------------------------------------------
@dataclass(frozen=True)
class RoleCase:
    id: str
    playbook: str  # backup, restore, list or verify
    vars: Callable[[Context, str], Dict[str, Any]]
    needles: Tuple[str, ...]
    refuse: Tuple[str, ...] = ()  # words the message must not contain


def r(
    case_id: str,
    playbook: str,
    variables: Callable[[Context, str], Dict[str, Any]],
    *needles: str,
    refuse: Sequence[str] = (),
) -> RoleCase:
    return RoleCase(case_id, playbook, variables, needles, tuple(refuse))


ROLE_CASES: List[RoleCase] = [
    r("backup-no-bucket", "backup", lambda x, k: {"backup_s3_bucket": ""}, "backup_s3_bucket"),
    r("backup-consistency", "backup", lambda x, k: {"backup_consistency": "strong"}, "backup_consistency"),
    r(
        "backup-stream-lock",
        "backup",
        lambda x, k: {"backup_staging": "stream", "backup_consistency": "lock"},
        "backup_staging",
    ),
    r("backup-compression", "backup", lambda x, k: {"backup_compression": "lz4"}, "backup_compression"),
    r(
        "backup-retention-negative",
        "backup",
        lambda x, k: {"backup_retention": {"keep_last": -5}},
        "keep_last",
    ),
    r(
        "backup-retention-within",
        "backup",
        lambda x, k: {"backup_retention": {"keep_within": "forever"}},
        "keep_within",
    ),
    r(
        "backup-retention-unknown",
        "backup",
        lambda x, k: {"backup_retention": {"keep_forever": 1}},
        "keep_forever",
    ),
    r(
        "backup-lease-zero",
        "backup",
        lambda x, k: {  # the scripted node: nx-27017 cannot really lock, so its unlock would be the story
            "backup_consistency": "lock",
            "backup_lock_lease_seconds": 0,
            "offsite_mongodb_connection": {"uri": x.fake, "connect_timeout": 2},
        },
        "lease",
    ),
    r(
        "backup-parallel-zero",
        "backup",
        lambda x, k: {"backup_parallel_collections": 0},
        "parallel_collections",
    ),
    r("backup-set-slash", "backup", lambda x, k: {"backup_set_name": "a/b"}, "set_name"),
    r(
        "backup-staging-dir-missing",
        "backup",
        lambda x, k: {"backup_staging": "disk", "backup_staging_dir": str(x.out(k) / "none")},
        "backup_staging_dir",
    ),
    r("backup-query-json", "backup", lambda x, k: {"backup_query": {f"{SEED_DB}.items": "{bad"}}, "query"),
    r(
        "backup-unreachable-node",
        "backup",
        lambda x, k: {
            "offsite_mongodb_connection": {"uri": f"mongodb://127.0.0.1:{x.dead_port}/", "connect_timeout": 1}
        },
        "127.0.0.1",
        refuse=("backup_allow_primary",),
    ),
    r("restore-no-bucket", "restore", lambda x, k: {"restore_s3_bucket": ""}, "restore_s3_bucket"),
    r(
        "restore-role-ns-lengths",
        "restore",
        lambda x, k: {"restore_ns_from": ["a.*"], "restore_ns_to": []},
        "restore_ns_to",
    ),
    r("restore-drop-unconfirmed", "restore", lambda x, k: {"restore_drop": True}, "restore_confirm"),
    r("restore-id-garbage", "restore", lambda x, k: {"restore_backup_id": "last-week"}, "backup_id"),
    r(
        "restore-missing-backup",
        "restore",
        lambda x, k: {"restore_set_name": "no-such-set"},
        "offsite.mongodb.list",
    ),
    r("restore-before-garbage", "restore", lambda x, k: {"restore_before": "soonish"}, "before"),
    r(
        "restore-role-ns-to-admin",
        "restore",
        lambda x, k: {
            "restore_ns_from": [f"{SEED_DB}.items"],
            "restore_ns_to": [f"admin.{target_database(k)}"],
        },
        "admin",
    ),
    r("restore-engine", "restore", lambda x, k: {"restore_engine": "magic"}, "restore_engine"),
    r("list-no-bucket", "list", lambda x, k: {"catalog_s3_bucket": ""}, "catalog_s3_bucket"),
    r("list-set-slash", "list", lambda x, k: {"catalog_set_name": "a/b"}, "set_name"),
    r("list-limit-negative", "list", lambda x, k: {"catalog_limit": -1}, "catalog_limit"),
    r(
        "verify-scratch-prefix",
        "verify",
        lambda x, k: {"verify_scratch_prefix": "../"},
        "verify_scratch_prefix",
    ),
    r("verify-id-garbage", "verify", lambda x, k: {"verify_backup_id": "last-week"}, "backup_id"),
    r(
        "verify-missing-backup",
        "verify",
        lambda x, k: {"verify_set_name": "no-such-set"},
        "offsite.mongodb.list",
    ),
]


# -- the batch runs -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ctx(tmp_path_factory, mongo_server, s3_endpoint):
    if s3_endpoint.real or mongo_server.real:
        pytest.skip("the bad-input batch writes scratch state into the stand-ins")
    scratch = tmp_path_factory.mktemp("bad")
    inputs = scratch / "in"
    inputs.mkdir()
    (inputs / "random.bin").write_bytes(random.Random(1).randbytes(300_000))
    (inputs / "text.txt").write_text("this is not an archive\n" * 100)
    client = pymongo.MongoClient(mongo_server.uri)
    client[SEED_DB]["items"].insert_many([{"_id": i, "n": i} for i in range(30)])
    config_collection = client["config"][target_database("restore-into-config-directly")]
    config_collection.insert_one({"_id": 1})
    for name, database in (("good.archive", SEED_DB), ("config.archive", "config")):
        made = run_module(
            "mongo_dump_archive",
            {"uri": mongo_server.uri, "dest": str(inputs / name), "databases": [database]},
        )
        assert made.get("failed") is not True, made.get("msg")
    config_collection.drop()
    for system in ("local", "config"):  # what a refused drop or restore must leave alone
        client[system]["keep"].insert_one({"_id": 1})
    s3 = s3_endpoint.client()
    bucket = f"offsite-test-bad-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    fake = FsyncFake().start()
    context = Context(mongo_server.uri, fake.uri, s3_endpoint.endpoint_url, bucket, scratch, free_port())
    seeded = run_module(
        "s3_backup_archive",
        {**context.seeded(), "mode": "put", "set_name": SEED_SET, "src": str(inputs / "good.archive")},
        env=ENV,
    )
    assert seeded.get("failed") is not True, seeded.get("msg")
    store = Catalog(s3, bucket, SEEDED)
    for case in ROLE_CASES:  # restore and verify pick one host per set: each case restores its own set
        if case.playbook in ("restore", "verify"):
            put_backup(store, case.id, str(inputs / "good.archive"))
    for case in [*MODULE_CASES, *ROLE_CASES]:
        context.out(case.id).mkdir(parents=True)
    with read_only_directory(scratch / "ro"):
        yield context, client, s3, fake
    fake.stop()
    client.drop_database(SEED_DB)
    client.close()


@contextlib.contextmanager
def read_only_directory(path: Path) -> Iterator[Path]:
    """A directory nobody can write: a read-only tmpfs as root (root ignores permissions), else mode 0555."""
    if not can_mount():
        path.mkdir()
        path.chmod(0o555)
        yield path
        return
    with full_disk(path, size_kib=64):
        subprocess.run(["mount", "-o", "remount,ro", str(path)], check=True)
        yield path


def _inventory(x: Context, path: Path, hosts: Dict[str, Dict[str, Any]]) -> Path:
    common = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    inventory = {"all": {"hosts": {name: {**common, **values} for name, values in hosts.items()}}}
    path.write_text(yaml.safe_dump(inventory, sort_keys=False))
    return path


ARGSPEC_PREFIX = "Validation of arguments failed:\n"
WORKERS = 4  # module cases are spread over this many host aliases, run side by side (strategy free)


def _module_playbook(x: Context) -> Tuple[Path, Path]:
    """One play, ``WORKERS`` host aliases; each case is one task (``ignore_errors``) on one of them."""
    tasks = []
    for number, case in enumerate(MODULE_CASES):
        args = {key: value for key, value in case.args(x, case.id).items() if value is not None}
        tasks.append(
            {
                "name": f"case {case.id}",
                f"offsite.mongodb.{case.module}": args,
                "ignore_errors": True,
                "environment": {"AWS_CONFIG_FILE": os.devnull} if case.id in WITHOUT_AWS_ENVIRONMENT else ENV,
                "when": f"inventory_hostname == 'w{number % WORKERS}'",
            }
        )
    play = {"name": "bad input", "hosts": "all", "gather_facts": False, "strategy": "free", "tasks": tasks}
    playbook = x.scratch / "modules.yml"
    playbook.write_text(yaml.safe_dump([play], sort_keys=False))
    return playbook, _inventory(x, x.scratch / "modules-hosts.yml", {f"w{n}": {} for n in range(WORKERS)})


def _role_host_vars(x: Context, case: RoleCase) -> Dict[str, Any]:
    database = target_database(case.id)
    return {
        "offsite_mongodb_connection": {"uri": x.mongo, "connect_timeout": 2},
        "offsite_s3_connection": {
            "endpoint_url": x.endpoint,
            "region": "us-east-1",
            "access_key": "testing",
            "secret_key": "testing",
        },
        "offsite_s3_bucket": x.bucket,
        "offsite_s3_prefix": f"bad/{case.id}" if case.playbook == "backup" else SEEDED,
        "backup_databases": [SEED_DB],
        "backup_staging_dir": str(x.out(case.id)),
        "backup_consistency": "none",  # nx-27017: a standalone whose fsync lock auto would need is a no-op
        "restore_staging_dir": str(x.out(case.id)),
        "verify_staging_dir": str(x.out(case.id)),
        "restore_set_name": case.id,
        "verify_set_name": case.id,
        "restore_ns_from": [f"{SEED_DB}.*"],
        "restore_ns_to": [f"{database}.*"],
        "verify_scratch_prefix": f"{database}_",
        **case.vars(x, case.id),
    }


def _role_playbooks(x: Context) -> List[Tuple[Path, Path]]:
    """The role cases as the collection's own playbooks, with every case of a playbook as one host of it.

    A playbook stops once every host of a play failed, so each playbook runs in its own process; the
    catalog role runs once per play (run_once), so each list case gets a process of its own.
    """
    groups: Dict[str, List[RoleCase]] = {}
    for case in ROLE_CASES:
        key = case.id if case.playbook == "list" else case.playbook
        groups.setdefault(key, []).append(case)
    runs = []
    for key, cases in groups.items():
        hosts = {case.id: _role_host_vars(x, case) for case in cases}
        source = Path(__file__).resolve().parents[2] / "playbooks" / f"{cases[0].playbook}.yml"
        plays = [{**play, "hosts": "all"} for play in yaml.safe_load(source.read_text())]
        playbook = x.scratch / f"roles-{key}.yml"
        playbook.write_text(yaml.safe_dump(plays, sort_keys=False))
        runs.append((playbook, _inventory(x, x.scratch / f"roles-{key}-hosts.yml", hosts)))
    return runs


@pytest.fixture(scope="module")
def batch(ctx) -> Dict[str, Tuple[List[Dict[str, Any]], str]]:
    """Every case run at once (one module batch, one process per role playbook, side by side).

    Returns, per case id, its task results and the output of the run it was part of.
    """
    x, *_unused = ctx
    module_playbook, module_hosts = _module_playbook(x)
    started = [background.start_playbook(str(module_playbook), module_hosts, env={"ANSIBLE_FORKS": "8"})]
    started += [
        background.start_playbook(str(pb), hosts, env={"ANSIBLE_FORKS": "20"})
        for pb, hosts in _role_playbooks(x)
    ]
    results: Dict[str, Tuple[List[Dict[str, Any]], str]] = {}
    for run in started:
        outcome = run.finish(timeout=900)
        for record in outcome["records"]:
            task = record.get("_task", "")
            case_id = task[len("case ") :] if task.startswith("case ") else record.get("_host", "")
            records, _unused = results.get(case_id, ([], ""))
            results[case_id] = ([*records, record], outcome["output"])
    return results


def assert_names(message: str, needles: Sequence[str]) -> None:
    for needle in needles:
        assert needle.lower() in message.lower(), f"the message does not name {needle!r}: {message}"


def assert_nothing_written(x: Context, s3: Any, client: Any, case_id: str) -> None:
    assert keys(s3, x.bucket, f"bad/{case_id}/") == [], "an S3 object was written"
    assert multipart_uploads(s3, x.bucket, f"bad/{case_id}/") == [], "a multipart upload was left"
    assert sorted(p.name for p in x.out(case_id).iterdir() if p.name != "leases") == [], (
        "a local file was written"
    )
    database = target_database(case_id)
    assert not [name for name in client.list_database_names() if name.startswith(database)], (
        "a database was created"
    )
    for system in ("admin", "local", "config"):  # each case may only name its own collection there
        assert database not in client[system].list_collection_names(), f"the {system} database was written"
    if case_id in ("drop-local", "drop-config"):
        system = case_id.split("-")[1]
        assert client[system]["keep"].count_documents({}) == 1, f"the {system} database was dropped"


@pytest.mark.parametrize("case", MODULE_CASES, ids=lambda case: case.id)
def test_module_option(case: Case, ctx, batch) -> None:
    x, client, s3, _fake = ctx
    records, _unused = batch.get(case.id, ([], ""))
    ran = [record for record in records if record["_outcome"] != "skipped"]
    assert ran, f"case {case.id} did not run"
    result = ran[-1]
    assert result["failed"], f"bad input was accepted: {json.dumps(result, default=str)[:600]}"
    message = str(result.get("msg", ""))
    assert_one_line(message)
    assert_names(message, case.needles)
    assert_nothing_written(x, s3, client, case.id)


@pytest.mark.parametrize("case", ROLE_CASES, ids=lambda case: case.id)
def test_role_variable(case: RoleCase, ctx, batch) -> None:
    x, client, s3, _fake = ctx
    records, output = batch.get(case.id, ([], ""))
    failures = [
        str(record.get("msg", ""))
        for record in records
        if record["_outcome"] == "failed" and not record.get("ignore_errors")
    ]
    assert failures, f"bad role variables were accepted: {[r['_task'] for r in records]}"
    # The first failure is the cause; a role's rescue then adds one short line naming the step, never the cause again.
    message = failures[0].replace(ARGSPEC_PREFIX, "")  # ansible-core's own wording for role argument specs
    for failure in failures:
        assert_one_line(failure.replace(ARGSPEC_PREFIX, ""))
    assert_names(message, case.needles)
    for word in case.refuse:
        assert word not in message, f"the advice is beside the point ({word}): {message}"
    assert not any(
        record["_task"].endswith(
            (
                "Upload the archive, then its manifest",
                "Dump straight into the S3 catalog (no local file; the manifest is written last)",
            )
        )
        and record["_outcome"] == "ok"
        for record in records
    ), "the role uploaded before refusing"
    core = re.split(r'failed at "[^"]*": ', message)[-1][:80]
    printed = sum(1 for line in output.splitlines() if f"[{case.id}]" in line and core in line)
    assert printed <= 1, f"the failure is printed {printed} times: {core}"
    assert_nothing_written(x, s3, client, case.id)


def test_bad_input_leaves_the_scripted_node_unlocked(ctx, batch) -> None:
    """The lock cases ran against one scripted node: none of them may leave it locked."""
    _unused, _unused, _unused, fake = ctx
    assert fake.lock_count == 0, f"the node was left locked ({fake.lock_count}) by a refused lock case"


def test_huge_lease_is_refused_before_locking(tmp_path) -> None:
    fake = FsyncFake().start()
    try:
        result = run_module(
            "mongo_fsync_lock",
            {"uri": fake.uri, "state": "locked", "lease_seconds": 10**12, "lease_dir": str(tmp_path)},
        )
        assert result["failed"], result
        assert_one_line(result["msg"])
        assert "lease_seconds" in result["msg"]
        assert fake.lock_count == 0, "the node was locked and left without a lease"
    finally:
        fake.stop()


FOREIGN_KEYS = {
    "month-13-manifest": f"{SEED_SET}/20261301T000000Z/manifest.json",
    "hour-25-archive": f"{SEED_SET}/20261101T250000Z/mongodump.archive.gz",
    "bad-json-manifest": f"{SEED_SET}/20260101T000000Z/manifest.json",
    "notes": f"{SEED_SET}/notes.txt",
    "deep": f"{SEED_SET}/20260102T000000Z/sub/dir/file",
    "top-level": "README",
}


@pytest.mark.parametrize("mode", ["list", "get", "prune"])
def test_foreign_keys_under_the_prefix_are_skipped(mode, s3_endpoint, tmp_path) -> None:
    s3 = s3_endpoint.client()
    bucket = f"offsite-test-foreign-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    src = tmp_path / "a.archive.gz"
    src.write_bytes(random_archive(2000, seed=2, compression_kind="gzip"))
    args = {"bucket": bucket, "prefix": "p", "endpoint_url": s3_endpoint.endpoint_url, "region": "us-east-1"}
    stored = run_module(
        "s3_backup_archive",
        {**args, "mode": "put", "set_name": SEED_SET, "src": str(src), "backup_id": "20260105T000000Z"},
        env=ENV,
    )
    assert stored.get("failed") is not True, stored.get("msg")
    for key in FOREIGN_KEYS.values():
        s3.put_object(Bucket=bucket, Key=f"p/{key}", Body=b"{not json")
    extra = {
        "list": {},
        "get": {"set_name": SEED_SET, "dest": str(tmp_path / "out")},
        "prune": {"set_name": SEED_SET, "keep_last": 1},
    }[mode]
    result = run_module("s3_backup_archive", {**args, "mode": mode, **extra}, env=ENV)
    assert result.get("failed") is not True, f"a foreign key broke mode={mode}: {result.get('msg')}"
    if mode == "list":
        good = [b for b in result["backups"] if b["complete"]]
        assert [b["backup_id"] for b in good] == ["20260105T000000Z"]
    if mode == "get":
        assert result["backup_id"] == "20260105T000000Z"
    if mode == "prune":
        assert "20260105T000000Z" in [k["backup_id"] for k in result["kept"]]
    stored_keys = keys(s3, bucket, "p/")
    for key in FOREIGN_KEYS.values():
        assert f"p/{key}" in stored_keys, f"mode={mode} removed a key that is not its own: {key}"
