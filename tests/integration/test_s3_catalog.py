"""The S3 backup catalog against a real S3 HTTP endpoint (moto, or OFFSITE_TEST_S3_ENDPOINT)."""

from __future__ import annotations

import hashlib
import os
import random
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from support.ansible_runner import run_module

from ansible_collections.offsite.mongodb.plugins.module_utils._tasks.catalog import (
    get_backup,
    prune_set,
    put_backup,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.backup_id import backup_time, new_backup_id
from ansible_collections.offsite.mongodb.plugins.module_utils.catalog import Catalog
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.retention import Candidate, Policy, apply_policy
from ansible_collections.offsite.mongodb.plugins.module_utils.times import utc_now
from ansible_collections.offsite.mongodb.tests.unit.helpers.archives import random_archive

MiB = 1024 * 1024
PREFIX = "it-backups"
# moto accepts any credentials: use ones that cannot appear in output by accident.
FAKE_ACCESS = "AKIAOFFSITE7TESTKEY9"
FAKE_SECRET = "offsite+Secret/Never-Shown-In-Output-7f3a9"


def credentials(endpoint):
    if endpoint.real:
        return endpoint.access_key, endpoint.secret_key
    return FAKE_ACCESS, FAKE_SECRET


def env_for(endpoint):
    access, secret = credentials(endpoint)
    return {"AWS_ACCESS_KEY_ID": access, "AWS_SECRET_ACCESS_KEY": secret, "AWS_CONFIG_FILE": os.devnull}


def args_for(endpoint, bucket, **extra):
    """Module arguments: credentials come from the environment, so Ansible cannot mask a leak."""
    args = {
        "bucket": bucket,
        "prefix": PREFIX,
        "endpoint_url": endpoint.endpoint_url,
        "region": endpoint.region,
    }
    args.update(extra)
    return args


def module(endpoint, bucket, check=False, name="s3_backup_archive", **extra):
    result = run_module(name, args_for(endpoint, bucket, **extra), check=check, env=env_for(endpoint))
    for secret in credentials(endpoint):
        assert secret not in result["_stdout"]
    return result


def listed(endpoint, bucket, **extra):
    """The catalog as s3_backup_archive_info lists it."""
    return module(endpoint, bucket, name="s3_backup_archive_info", **extra)


def backup_ids(catalog, set_name):
    return [listing.backup_id for listing in catalog.scan(set_name)]


def make_catalog(endpoint, bucket, **kwargs):
    kwargs.setdefault("part_size", 5 * MiB)
    kwargs.setdefault("max_concurrency", 3)
    return Catalog(endpoint.client(), bucket, PREFIX, **kwargs)


def write_file(path, size, seed=0):
    """A real mongodump archive of about ``size`` bytes (put refuses anything else), gzip for ``.gz`` names."""
    data = random_archive(size, seed, "gzip" if path.name.endswith(".gz") else "none")
    path.write_bytes(data)
    return data


def keys(endpoint, bucket):
    response = endpoint.client().list_objects_v2(Bucket=bucket)
    return sorted(obj["Key"] for obj in response.get("Contents", []))


def uploads(endpoint, bucket):
    return endpoint.client().list_multipart_uploads(Bucket=bucket).get("Uploads", [])


def tiny_backup(catalog, set_name, when, payload=b"archive", complete=True):
    backup_id = new_backup_id(when)
    stream = catalog.open_upload(set_name, backup_id, "gzip")
    stream.write(payload)
    result = stream.close()
    if complete:
        catalog.commit(set_name, backup_id, result, metadata={"namespaces": [{"ns": "a.b", "documents": 2}]})
    return backup_id


def test_put_get_list_delete_through_the_module(s3_endpoint, s3_bucket, tmp_path):
    src = tmp_path / "rs0.archive.gz"
    data = write_file(src, 11 * MiB + 123)  # three 5 MiB parts
    digest = hashlib.sha256(data).hexdigest()
    dump = {
        "path": str(src),
        "size": len(data),
        "sha256": digest,
        "compression": "gzip",
        "consistency": "oplog",
        "engine": "native",
        "server_version": "7.0.12",
        "namespaces": [{"ns": "shop.orders", "type": "collection", "documents": 40, "bytes": 4000}],
        "documents": 40,
        "oplog": {"first": "1700000000:1", "last": "1700000005:3", "count": 9},
        "started_at": "2026-11-20T03:00:00Z",
        "finished_at": "2026-11-20T03:01:00Z",
        "duration_seconds": 60.0,
    }
    put = {"mode": "put", "set_name": "rs0", "src": str(src), "sha256": digest, "metadata": dump}
    put.update(labels={"reason": "nightly"}, part_size="5MB", max_concurrency=3)

    first = module(s3_endpoint, s3_bucket, **put)
    assert first["changed"] is True, first
    assert first["backup_id"] == "20261120T030000Z"
    assert first["archive_key"] == f"{PREFIX}/rs0/20261120T030000Z/mongodump.archive.gz"
    assert first["manifest_key"] == f"{PREFIX}/rs0/20261120T030000Z/manifest.json"
    assert (first["size"], first["sha256"]) == (len(data), digest)
    manifest = first["manifest"]
    assert manifest["archive"]["parts"] == 3
    assert manifest["consistency"] == {"mode": "oplog", "oplog": dump["oplog"]}
    assert manifest["labels"] == {"reason": "nightly"}
    assert manifest["source"]["server_version"] == "7.0.12"

    again = module(s3_endpoint, s3_bucket, **put)
    assert again["changed"] is False
    assert again["backup_id"] == first["backup_id"]

    other = tmp_path / "other.archive.gz"
    write_file(other, 1000, seed=1)
    before = keys(s3_endpoint, s3_bucket)
    dry = module(s3_endpoint, s3_bucket, check=True, mode="put", set_name="rs0", src=str(other))
    assert dry["changed"] is True
    assert keys(s3_endpoint, s3_bucket) == before

    listing = listed(s3_endpoint, s3_bucket)
    assert listing["changed"] is False
    [entry] = listing["backups"]
    assert entry["backup_id"] == "20261120T030000Z"
    assert entry["set_name"] == "rs0"
    assert entry["created"] == "2026-11-20T03:00:00Z"
    assert (entry["size"], entry["sha256"], entry["complete"]) == (len(data), digest, True)
    assert entry["namespaces"] == dump["namespaces"]
    assert entry["labels"] == {"reason": "nightly"}
    assert entry["documents"] == 40

    dest = tmp_path / "restore" / "archive.gz"
    dest.parent.mkdir()
    get = {"mode": "get", "set_name": "rs0", "dest": str(dest), "part_size": "5MB"}
    dry_get = module(s3_endpoint, s3_bucket, check=True, **get)
    assert dry_get["changed"] is True
    assert not dest.exists()
    fetched = module(s3_endpoint, s3_bucket, **get)
    assert fetched["changed"] is True
    assert fetched["verified"] is True
    assert (fetched["backup_id"], fetched["sha256"], fetched["dest"]) == (
        "20261120T030000Z",
        digest,
        str(dest),
    )
    assert dest.read_bytes() == data
    assert module(s3_endpoint, s3_bucket, **get)["changed"] is False
    assert os.listdir(dest.parent) == ["archive.gz"]

    delete = {"mode": "delete", "set_name": "rs0", "backup_id": "20261120T030000Z"}
    dry_delete = module(s3_endpoint, s3_bucket, check=True, **delete)
    assert dry_delete["changed"] is True
    assert dry_delete["deleted"] == ["20261120T030000Z"]
    assert keys(s3_endpoint, s3_bucket) == before
    deleted = module(s3_endpoint, s3_bucket, **delete)
    assert deleted["changed"] is True
    assert deleted["deleted_keys"][0].endswith("/manifest.json")  # the manifest goes first
    assert keys(s3_endpoint, s3_bucket) == []
    assert module(s3_endpoint, s3_bucket, **delete)["changed"] is False


def test_put_with_a_wrong_sha256_stores_nothing(s3_endpoint, s3_bucket, tmp_path):
    src = tmp_path / "a.archive"
    write_file(src, 6 * MiB)
    result = module(
        s3_endpoint, s3_bucket, mode="put", set_name="rs0", src=str(src), sha256="0" * 64, part_size="5MB"
    )
    assert result.get("failed") is True
    assert "not the expected" in result["msg"]
    assert "\n" not in result["msg"]
    assert keys(s3_endpoint, s3_bucket) == []
    assert uploads(s3_endpoint, s3_bucket) == []


def test_put_never_overwrites_another_archive(s3_endpoint, s3_bucket, tmp_path):
    first, second = tmp_path / "1.archive", tmp_path / "2.archive"
    write_file(first, 100, seed=1)
    write_file(second, 100, seed=2)
    put = {"mode": "put", "set_name": "rs0", "backup_id": "20261101T000000Z"}
    assert module(s3_endpoint, s3_bucket, src=str(first), **put)["changed"] is True
    stored = keys(s3_endpoint, s3_bucket)
    clash = module(s3_endpoint, s3_bucket, src=str(second), **put)
    assert clash["failed"] is True
    assert "already holds another archive" in clash["msg"]
    assert keys(s3_endpoint, s3_bucket) == stored
    catalog = make_catalog(s3_endpoint, s3_bucket)
    assert (
        catalog.resolve("rs0", "20261101T000000Z")["archive"]["sha256"]
        == hashlib.sha256(first.read_bytes()).hexdigest()
    )
    # Without an explicit id the same second gets a suffix instead of failing.
    auto = put_backup(catalog, "rs0", str(second), now=datetime(2026, 11, 1, tzinfo=timezone.utc))
    assert auto["backup_id"].startswith("20261101T000000Z-")


def test_manifest_rule_incomplete_backups_are_listed_skipped_and_pruned(s3_endpoint, s3_bucket, tmp_path):
    catalog = make_catalog(s3_endpoint, s3_bucket)
    now = utc_now().replace(microsecond=0)
    older_incomplete = tiny_backup(catalog, "rs0", now - timedelta(days=3), complete=False)
    complete = tiny_backup(catalog, "rs0", now - timedelta(days=2))
    newer_incomplete = tiny_backup(catalog, "rs0", now - timedelta(hours=1), complete=False)

    listing = listed(s3_endpoint, s3_bucket, set_name="rs0")["backups"]
    assert [(b["backup_id"], b["complete"]) for b in listing] == [
        (newer_incomplete, False),
        (complete, True),
        (older_incomplete, False),
    ]
    assert listing[0]["sha256"] is None

    dest = tmp_path / "latest"
    fetched = module(s3_endpoint, s3_bucket, mode="get", set_name="rs0", backup_id="latest", dest=str(dest))
    assert fetched["backup_id"] == complete
    incomplete_get = module(
        s3_endpoint, s3_bucket, mode="get", set_name="rs0", backup_id=newer_incomplete, dest=str(dest)
    )
    assert incomplete_get["failed"] is True
    assert "incomplete" in incomplete_get["msg"]

    pruned = module(s3_endpoint, s3_bucket, mode="prune", set_name="rs0", keep_last=5)
    assert pruned["changed"] is True
    assert pruned["removed"] == [
        {
            "backup_id": older_incomplete,
            "reason": f"incomplete, older than the newest complete backup {complete}",
        }
    ]
    assert [k["backup_id"] for k in pruned["kept"]] == [newer_incomplete, complete]
    # Once abandoned longer than the threshold, the newer incomplete backup goes too.
    later = prune_set(catalog, "rs0", Policy(keep_last=5), timedelta(days=1), now=now + timedelta(days=2))
    assert [r["backup_id"] for r in later["removed"]] == [newer_incomplete]
    assert backup_ids(catalog, "rs0") == [complete]


def test_prune_policies_on_a_catalog_spanning_months(s3_endpoint, s3_bucket):
    catalog = make_catalog(s3_endpoint, s3_bucket)
    rng = random.Random(42)
    newest = datetime(2026, 11, 23, 6, 0, tzinfo=timezone.utc)
    times = {newest} | {newest - timedelta(hours=rng.randrange(1, 24 * 200)) for _unused in range(70)}
    ids = [tiny_backup(catalog, "rs0", when, payload=when.isoformat().encode()) for when in sorted(times)]
    other_set = tiny_backup(catalog, "rs1", newest - timedelta(days=300))
    policy = {"keep_last": 2, "keep_daily": 5, "keep_weekly": 4, "keep_monthly": 4, "keep_within": "36h"}
    expected = apply_policy(
        [Candidate(i, backup_time(i)) for i in ids],
        Policy(keep_last=2, keep_daily=5, keep_weekly=4, keep_monthly=4, keep_within=timedelta(hours=36)),
        utc_now(),
    )
    expected_kept = [d.backup_id for d in expected if d.keep]
    expected_removed = [d.backup_id for d in expected if not d.keep]
    assert 8 <= len(expected_kept) < len(ids) - 30

    dry = module(s3_endpoint, s3_bucket, check=True, mode="prune", set_name="rs0", **policy)
    assert dry["changed"] is True
    assert [k["backup_id"] for k in dry["kept"]] == expected_kept
    assert [r["backup_id"] for r in dry["removed"]] == expected_removed
    assert len(catalog.scan("rs0")) == len(ids)

    real = module(s3_endpoint, s3_bucket, mode="prune", set_name="rs0", **policy)
    assert {k: real[k] for k in ("kept", "removed")} == {k: dry[k] for k in ("kept", "removed")}
    kept_reasons = {k["backup_id"]: k["reasons"] for k in real["kept"]}
    assert kept_reasons[ids[-1]][0] == "newest complete backup (always kept)"
    assert any(r.startswith("keep_monthly") for reasons in kept_reasons.values() for r in reasons)
    assert all(r["reason"] == "not kept by any keep_* rule" for r in real["removed"])
    assert backup_ids(catalog, "rs0") == expected_kept
    assert backup_ids(catalog, "rs1") == [other_set]  # other sets untouched

    again = module(s3_endpoint, s3_bucket, mode="prune", set_name="rs0", **policy)
    assert again["changed"] is False
    assert again["removed"] == []


def test_put_with_keep_rules_prunes_the_set_in_the_same_task(s3_endpoint, s3_bucket, tmp_path):
    catalog = make_catalog(s3_endpoint, s3_bucket)
    older = [tiny_backup(catalog, "rs0", utc_now() - timedelta(days=days)) for days in (3, 2)]
    src = tmp_path / "rs0.archive.gz"
    write_file(src, 64 * 1024)
    dry = module(s3_endpoint, s3_bucket, check=True, mode="put", set_name="rs0", src=str(src), keep_last=1)
    assert dry["pruned"] is None and backup_ids(catalog, "rs0") == older[::-1]  # newest first

    stored = module(s3_endpoint, s3_bucket, mode="put", set_name="rs0", src=str(src), keep_last=2)
    assert [kept["backup_id"] for kept in stored["pruned"]["kept"]] == [stored["backup_id"], older[1]]
    assert [removed["backup_id"] for removed in stored["pruned"]["removed"]] == [older[0]]
    assert backup_ids(catalog, "rs0") == [stored["backup_id"], older[1]]

    again = {"mode": "put", "set_name": "rs0", "src": str(src), "backup_id": stored["backup_id"]}
    plain = module(s3_endpoint, s3_bucket, **again)
    assert plain["changed"] is False and plain["pruned"] is None  # the same archive again, and no rule


def test_prune_without_a_policy_is_refused(s3_endpoint, s3_bucket):
    catalog = make_catalog(s3_endpoint, s3_bucket)
    tiny_backup(catalog, "rs0", utc_now())
    result = module(s3_endpoint, s3_bucket, mode="prune", set_name="rs0")
    assert result["failed"] is True
    assert "set at least one of keep_last" in result["msg"]
    assert len(catalog.scan("rs0")) == 1


def test_a_failing_stream_aborts_its_multipart_upload(s3_endpoint, s3_bucket):
    catalog = make_catalog(s3_endpoint, s3_bucket)
    with (
        pytest.raises(RuntimeError, match="dump broke"),
        catalog.open_upload("rs0", "20261101T000000Z", "gzip") as up,
    ):
        for _unused in range(12):
            up.write(os.urandom(MiB))
        assert uploads(s3_endpoint, s3_bucket)  # parts were in flight
        raise RuntimeError("dump broke")
    assert uploads(s3_endpoint, s3_bucket) == []
    assert keys(s3_endpoint, s3_bucket) == []


def test_streaming_upload_of_unknown_length_and_verified_streaming_download(s3_endpoint, s3_bucket):
    catalog = make_catalog(s3_endpoint, s3_bucket)
    data = os.urandom(13 * MiB + 5)
    with catalog.open_upload("rs0", "20261101T000000Z", "zstd") as up:
        for start in range(0, len(data), 100_000):
            up.write(data[start : start + 100_000])
    assert up.result.parts == 3
    manifest = catalog.commit("rs0", "20261101T000000Z", up.result, metadata={"engine": "native"})
    assert manifest["archive"]["compression"] == "zstd"
    loaded = catalog.resolve("rs0")
    assert loaded == manifest
    stream = catalog.download_stream(loaded)
    pieces = []
    while True:
        piece = stream.read(1_000_003)
        if not piece:
            break
        pieces.append(piece)
    assert b"".join(pieces) == data
    assert stream.verified is True


def test_a_corrupted_archive_fails_the_download_and_leaves_no_file(s3_endpoint, s3_bucket, tmp_path):
    catalog = make_catalog(s3_endpoint, s3_bucket)
    src = tmp_path / "a.archive.gz"
    data = write_file(src, 6 * MiB)
    put = put_backup(catalog, "rs0", str(src), "20261101T000000Z")
    damaged = bytearray(data)
    damaged[3 * MiB] ^= 0xFF  # same size, one bit flipped
    s3_endpoint.client().put_object(Bucket=s3_bucket, Key=put["archive_key"], Body=bytes(damaged))
    restore_dir = tmp_path / "restore"
    restore_dir.mkdir()
    dest = restore_dir / "archive.gz"
    result = module(s3_endpoint, s3_bucket, mode="get", set_name="rs0", dest=str(dest), part_size="5MB")
    assert result["failed"] is True
    assert "corrupt" in result["msg"]
    assert "\n" not in result["msg"]
    assert os.listdir(restore_dir) == []
    # A truncated object fails the same way.
    s3_endpoint.client().put_object(Bucket=s3_bucket, Key=put["archive_key"], Body=data[:1000])
    with pytest.raises(OffsiteError, match="corrupt"):
        get_backup(catalog, "rs0", str(dest))
    assert os.listdir(restore_dir) == []


def test_storage_class_encryption_and_tags(s3_endpoint, s3_bucket, tmp_path):
    src = tmp_path / "a.archive.gz"
    write_file(src, 2000)
    result = module(
        s3_endpoint,
        s3_bucket,
        mode="put",
        set_name="rs0",
        src=str(src),
        encryption="AES256",
        storage_class="STANDARD_IA",
        tags={"team": "dba", "kind": "mongodb backup"},
    )
    assert result["changed"] is True, result
    assert result["manifest"]["encryption"] == {"mode": "AES256"}
    assert result["manifest"]["archive"]["storage_class"] == "STANDARD_IA"
    client = s3_endpoint.client()
    archive = client.head_object(Bucket=s3_bucket, Key=result["archive_key"])
    assert archive["ServerSideEncryption"] == "AES256"
    assert archive["StorageClass"] == "STANDARD_IA"
    manifest = client.head_object(Bucket=s3_bucket, Key=result["manifest_key"])
    assert manifest["ServerSideEncryption"] == "AES256"
    assert manifest.get("StorageClass", "STANDARD") == "STANDARD"  # the catalog stays readable
    tags = client.get_object_tagging(Bucket=s3_bucket, Key=result["archive_key"])["TagSet"]
    assert {t["Key"]: t["Value"] for t in tags} == {"team": "dba", "kind": "mongodb backup"}


def test_object_lock_retention(s3_endpoint, tmp_path):
    client = s3_endpoint.client()
    bucket = f"offsite-lock-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    src = tmp_path / "a.archive.gz"
    write_file(src, 3000)
    try:
        result = module(
            s3_endpoint,
            bucket,
            mode="put",
            set_name="rs0",
            src=str(src),
            object_lock_mode="GOVERNANCE",
            object_lock_days=1,
        )
        assert result["changed"] is True, result
        assert result["manifest"]["object_lock"]["mode"] == "GOVERNANCE"
        head = client.head_object(Bucket=bucket, Key=result["archive_key"])
        assert head["ObjectLockMode"] == "GOVERNANCE"
        assert head["ObjectLockRetainUntilDate"] > utc_now() + timedelta(hours=23)
        version = head["VersionId"]
        with pytest.raises(client.exceptions.ClientError):
            client.delete_object(Bucket=bucket, Key=result["archive_key"], VersionId=version)
    finally:
        for item in client.list_object_versions(Bucket=bucket).get("Versions", []):
            client.delete_object(
                Bucket=bucket, Key=item["Key"], VersionId=item["VersionId"], BypassGovernanceRetention=True
            )
        client.delete_bucket(Bucket=bucket)


def test_delete_all_needs_confirmation_and_aborts_unfinished_uploads(s3_endpoint, s3_bucket):
    catalog = make_catalog(s3_endpoint, s3_bucket)
    now = utc_now()
    ids = [tiny_backup(catalog, "rs0", now - timedelta(days=d)) for d in range(3)]
    kept = tiny_backup(catalog, "rs1", now)
    client = s3_endpoint.client()
    client.create_multipart_upload(
        Bucket=s3_bucket, Key=f"{PREFIX}/rs0/{new_backup_id(now)}-x/mongodump.archive"
    )

    refused = module(s3_endpoint, s3_bucket, mode="delete", set_name="rs0")
    assert refused["failed"] is True
    assert "confirm_delete_all: true" in refused["msg"]
    assert len(catalog.scan("rs0")) == 3

    done = module(s3_endpoint, s3_bucket, mode="delete", set_name="rs0", confirm_delete_all=True)
    assert done["changed"] is True
    assert sorted(done["deleted"]) == sorted(ids)
    assert len(done["aborted_uploads"]) == 1
    assert catalog.scan("rs0") == []
    assert uploads(s3_endpoint, s3_bucket) == []
    assert [e.backup_id for e in catalog.scan("rs1")] == [kept]


def test_prune_aborts_abandoned_multipart_uploads_only(s3_endpoint, s3_bucket):
    catalog = make_catalog(s3_endpoint, s3_bucket)
    tiny_backup(catalog, "rs0", utc_now())
    client = s3_endpoint.client()
    client.create_multipart_upload(Bucket=s3_bucket, Key=f"{PREFIX}/rs0/20261101T000000Z/mongodump.archive")
    # Judge age from the catalog's own clock for the upload (moto reports a fixed 2010 Initiated time).
    initiated = uploads(s3_endpoint, s3_bucket)[0]["Initiated"]
    fresh = prune_set(
        catalog, "rs0", Policy(keep_last=1), timedelta(days=1), now=initiated + timedelta(hours=1)
    )
    assert fresh["aborted_uploads"] == []
    assert fresh["changed"] is False
    later = initiated + timedelta(days=2)
    dry = prune_set(catalog, "rs0", Policy(keep_last=1), timedelta(days=1), check_mode=True, now=later)
    assert len(dry["aborted_uploads"]) == 1
    assert len(uploads(s3_endpoint, s3_bucket)) == 1
    stale = prune_set(catalog, "rs0", Policy(keep_last=1), timedelta(days=1), now=later)
    assert stale["changed"] is True
    assert uploads(s3_endpoint, s3_bucket) == []


def test_list_filters_by_set_and_time(s3_endpoint, s3_bucket):
    catalog = make_catalog(s3_endpoint, s3_bucket)
    a = tiny_backup(catalog, "rs0", datetime(2026, 10, 1, tzinfo=timezone.utc))
    b = tiny_backup(catalog, "rs0", datetime(2026, 11, 1, tzinfo=timezone.utc))
    c = tiny_backup(catalog, "rs1", datetime(2026, 11, 5, tzinfo=timezone.utc))
    everything = listed(s3_endpoint, s3_bucket)["backups"]
    assert [x["backup_id"] for x in everything] == [c, b, a]
    window = listed(s3_endpoint, s3_bucket, set_name="rs0", since="2026-10-15", until=b)["backups"]
    assert [x["backup_id"] for x in window] == [b]
    before = module(
        s3_endpoint, s3_bucket, mode="get", check=True, set_name="rs0", before="2026-10-31", dest="/tmp/x"
    )
    assert before["backup_id"] == a


def test_errors_are_one_line_name_the_fix_and_leak_no_secret(s3_endpoint, s3_bucket, tmp_path):
    missing_bucket = listed(s3_endpoint, f"offsite-missing-{uuid.uuid4().hex[:12]}")
    assert missing_bucket["failed"] is True
    assert "does not exist" in missing_bucket["msg"]
    assert "create it" in missing_bucket["msg"]

    invalid = listed(s3_endpoint, "Bad_Bucket")
    assert "not a valid S3 bucket name" in invalid["msg"]

    unknown = module(
        s3_endpoint, s3_bucket, mode="get", set_name="rs0", backup_id="20200101T000000Z", dest=str(tmp_path)
    )
    assert "does not exist in set rs0" in unknown["msg"]
    assert "s3_backup_archive_info" in unknown["msg"]

    empty = module(s3_endpoint, s3_bucket, mode="get", set_name="rs0", dest=str(tmp_path))
    assert "has no complete backup" in empty["msg"]

    unreachable = listed(
        s3_endpoint, s3_bucket, endpoint_url="http://127.0.0.1:9", retries=0, connect_timeout=2
    )
    assert unreachable["msg"].startswith("cannot reach the S3 endpoint http://127.0.0.1:9")

    no_set = module(s3_endpoint, s3_bucket, mode="put", src=str(tmp_path))
    assert "missing: set_name" in no_set["msg"]

    for result in (missing_bucket, invalid, unknown, empty, unreachable, no_set):
        assert result["failed"] is True
        assert "\n" not in result["msg"]
