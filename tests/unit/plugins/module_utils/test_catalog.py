"""The catalog against a stubbed S3 client: listing with foreign keys, resolving, deleting manifest-first, aborting."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone

import pytest
from botocore.stub import ANY

from ansible_collections.offsite.mongodb.plugins.module_utils import s3_upload
from ansible_collections.offsite.mongodb.plugins.module_utils.catalog import Catalog
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.manifest import build_manifest, dump_manifest
from ansible_collections.offsite.mongodb.tests.unit.helpers.s3_stubs import (
    BUCKET,
    body,
    listed,
    stubbed_client,
)

PREFIX = "mongodb-backups"
OLD, MIDDLE, NEW = "20261101T000000Z", "20261110T000000Z", "20261120T000000Z"


def key(backup_id: str, name: str, set_name: str = "rs0") -> str:
    return f"{PREFIX}/{set_name}/{backup_id}/{name}"


def manifest_bytes(backup_id: str, set_name: str = "rs0") -> bytes:
    archive = {
        "key": key(backup_id, "mongodump.archive.gz", set_name),
        "size": 100,
        "sha256": hashlib.sha256(backup_id.encode()).hexdigest(),
    }
    manifest = build_manifest(
        backup_id=backup_id, set_name=set_name, created="2026-11-23T10:15:00Z", archive=archive
    )
    return dump_manifest(manifest)


@pytest.fixture
def stubbed():
    client, stubber = stubbed_client()
    with stubber:
        yield Catalog(client, BUCKET, PREFIX), stubber
        stubber.assert_no_pending_responses()


def expect_listing(stubber, prefix, keys):
    stubber.add_response(
        "list_objects_v2",
        {"Contents": [listed(k, size) for k, size in keys], "KeyCount": len(keys), "IsTruncated": False},
        {"Bucket": BUCKET, "Prefix": prefix},
    )


def expect_manifest(stubber, backup_id, set_name="rs0"):
    stubber.add_response(
        "get_object",
        {"Body": body(manifest_bytes(backup_id, set_name))},
        {"Bucket": BUCKET, "Key": key(backup_id, "manifest.json", set_name)},
    )


RS0_OBJECTS = [
    (key(OLD, "mongodump.archive.gz"), 100),
    (key(OLD, "manifest.json"), 2),
    (key(MIDDLE, "mongodump.archive.gz"), 100),
    (key(MIDDLE, "manifest.json"), 2),
    (key(NEW, "mongodump.archive.gz"), 40),  # incomplete: no manifest yet
]


def test_scan_groups_objects_by_backup_newest_first_and_reports_foreign_keys(stubbed):
    catalog, stubber = stubbed
    foreign = [
        f"{PREFIX}/README.txt",
        f"{PREFIX}/rs0/20261323T000000Z/manifest.json",  # month 13: not an id
        f"{PREFIX}/rs0/latest/manifest.json",
        f"{PREFIX}/rs0/{OLD}/nested/deeper.bin",
        f"{PREFIX}/rs0/{OLD}/",
    ]
    expect_listing(
        stubber,
        f"{PREFIX}/",
        [*RS0_OBJECTS, (key(MIDDLE, "manifest.json", "rs1"), 2), *[(k, 1) for k in foreign]],
    )
    listings = catalog.scan()
    assert [(b.set_name, b.backup_id, b.complete) for b in listings] == [
        ("rs0", NEW, False),
        ("rs0", MIDDLE, True),
        ("rs1", MIDDLE, True),
        ("rs0", OLD, True),
    ]
    assert listings[1].size == 100  # the archive, not the manifest
    assert listings[0].manifest_keys == []
    assert listings[0].time == datetime(2026, 11, 20, tzinfo=timezone.utc)
    assert catalog.foreign_keys == foreign


def test_scan_of_one_set_or_one_backup_lists_only_under_its_prefix(stubbed):
    catalog, stubber = stubbed
    expect_listing(stubber, f"{PREFIX}/rs0/", RS0_OBJECTS)
    assert len(catalog.scan("rs0")) == 3
    expect_listing(stubber, f"{PREFIX}/rs0/{OLD}/", RS0_OBJECTS[:2])
    assert [b.backup_id for b in catalog.scan("rs0", OLD)] == [OLD]


def test_latest_is_the_newest_complete_backup(stubbed):
    catalog, stubber = stubbed
    expect_listing(stubber, f"{PREFIX}/rs0/", RS0_OBJECTS)
    expect_manifest(stubber, MIDDLE)
    assert catalog.resolve("rs0")["backup_id"] == MIDDLE


def test_before_picks_the_newest_complete_backup_older_than_the_time(stubbed):
    catalog, stubber = stubbed
    expect_listing(stubber, f"{PREFIX}/rs0/", RS0_OBJECTS)
    expect_manifest(stubber, OLD)
    assert catalog.resolve("rs0", before=datetime(2026, 11, 10, tzinfo=timezone.utc))["backup_id"] == OLD


def test_no_complete_backup_before_the_time_is_a_one_line_error(stubbed):
    catalog, stubber = stubbed
    expect_listing(stubber, f"{PREFIX}/rs0/", RS0_OBJECTS)
    with pytest.raises(
        OffsiteError, match=r"^set rs0 has no complete backup before 2026-10-01T00:00:00Z under"
    ):
        catalog.resolve("rs0", before=datetime(2026, 10, 1, tzinfo=timezone.utc))


def test_an_explicit_id_must_exist_and_be_complete(stubbed):
    catalog, stubber = stubbed
    expect_listing(stubber, f"{PREFIX}/rs0/20200101T000000Z/", [])
    with pytest.raises(OffsiteError, match=r"backup 20200101T000000Z does not exist in set rs0 under s3://"):
        catalog.resolve("rs0", "20200101T000000Z")
    expect_listing(stubber, f"{PREFIX}/rs0/{NEW}/", RS0_OBJECTS[4:])
    stubber.add_client_error(
        "get_object", "NoSuchKey", "The specified key does not exist.", 404,
        expected_params={"Bucket": BUCKET, "Key": key(NEW, "manifest.json")},
    )  # fmt: skip
    with pytest.raises(OffsiteError, match=f"backup {NEW} of set rs0 has no manifest: it is incomplete"):
        catalog.resolve("rs0", NEW)


def test_a_malformed_id_is_refused_before_any_request(stubbed):
    catalog, _stubber = stubbed
    with pytest.raises(OffsiteError, match="is not a backup id"):
        catalog.resolve("rs0", "20261123T251500Z")


def test_delete_removes_every_manifest_before_any_archive(stubbed):
    catalog, stubber = stubbed
    expect_listing(stubber, f"{PREFIX}/rs0/", RS0_OBJECTS)
    listings = catalog.scan("rs0")
    manifests = [key(MIDDLE, "manifest.json"), key(OLD, "manifest.json")]
    others = [
        key(NEW, "mongodump.archive.gz"),
        key(MIDDLE, "mongodump.archive.gz"),
        key(OLD, "mongodump.archive.gz"),
    ]
    for keys in (manifests, others):
        stubber.add_response(
            "delete_objects",
            {"Deleted": [{"Key": k} for k in keys]},
            {"Bucket": BUCKET, "Delete": {"Objects": [{"Key": k} for k in keys], "Quiet": True}},
        )
    catalog.delete_backups(listings)


def test_a_refused_manifest_delete_stops_before_the_archives(stubbed):
    catalog, stubber = stubbed
    expect_listing(stubber, f"{PREFIX}/rs0/{OLD}/", RS0_OBJECTS[:2])
    listings = catalog.scan("rs0", OLD)
    stubber.add_response(
        "delete_objects",
        {"Errors": [{"Key": key(OLD, "manifest.json"), "Code": "AccessDenied", "Message": "Access Denied"}]},
        {"Bucket": BUCKET, "Delete": ANY},
    )
    with pytest.raises(
        OffsiteError, match=r"S3 refused to delete 1 object\(s\), e.g. .*manifest.json \(AccessDenied"
    ):
        catalog.delete_backups(listings)  # no second request: the stubber would fail on one


def test_abort_is_retried_until_s3_answers(stubbed, monkeypatch):
    catalog, stubber = stubbed
    sleeps = []
    monkeypatch.setattr(s3_upload.time, "sleep", sleeps.append)
    upload = {"Key": key(NEW, "mongodump.archive.gz"), "UploadId": "u-1"}
    params = {"Bucket": BUCKET, "Key": upload["Key"], "UploadId": "u-1"}
    stubber.add_client_error(
        "abort_multipart_upload", "InternalError", "try again", 500, expected_params=params
    )
    stubber.add_client_error("abort_multipart_upload", "SlowDown", "slow down", 503, expected_params=params)
    stubber.add_response("abort_multipart_upload", {}, params)
    catalog.abort_uploads([upload])
    assert sleeps == [0.5, 1.0]  # backoff doubles


def test_an_upload_already_gone_counts_as_aborted(stubbed):
    catalog, stubber = stubbed
    stubber.add_client_error("abort_multipart_upload", "NoSuchUpload", "gone", 404)
    catalog.abort_uploads([{"Key": key(NEW, "mongodump.archive.gz"), "UploadId": "u-2"}])


def test_an_abort_that_keeps_failing_ends_in_a_one_line_error(stubbed, monkeypatch):
    catalog, stubber = stubbed
    monkeypatch.setattr(s3_upload, "ABORT_RETRY_SECONDS", 0.0)
    stubber.add_client_error("abort_multipart_upload", "AccessDenied", "Access Denied", 403)
    with pytest.raises(
        OffsiteError, match=r"^access denied to abort an unfinished upload in bucket 'acme-backups'"
    ):
        catalog.abort_uploads([{"Key": key(NEW, "mongodump.archive.gz"), "UploadId": "u-3"}])


def test_unfinished_uploads_are_listed_under_a_prefix(stubbed):
    catalog, stubber = stubbed
    upload = {"Key": key(NEW, "mongodump.archive.gz"), "UploadId": "u-4", "Initiated": datetime(2026, 11, 20)}
    stubber.add_response(
        "list_multipart_uploads",
        {"Uploads": [upload], "IsTruncated": False},
        {"Bucket": BUCKET, "Prefix": f"{PREFIX}/rs0/"},
    )
    assert [u["UploadId"] for u in catalog.multipart_uploads(f"{PREFIX}/rs0/")] == ["u-4"]


def test_a_missing_archive_of_a_complete_backup_is_reported_as_damage(stubbed):
    catalog, stubber = stubbed
    manifest = {
        "backup_id": OLD,
        "archive": {"key": key(OLD, "mongodump.archive.gz"), "size": 100, "sha256": "0" * 64},
    }
    stubber.add_client_error("head_object", "404", "Not Found", 404)
    with pytest.raises(
        OffsiteError, match=f"the archive s3://{BUCKET}/.* of backup {OLD} is missing: the backup is damaged"
    ):
        catalog.download_stream(manifest)


def test_the_bucket_owner_is_sent_with_every_request():
    client, stubber = stubbed_client()
    catalog = Catalog(client, BUCKET, PREFIX, expected_bucket_owner="111122223333")
    stubber.add_response(
        "list_objects_v2",
        {"Contents": [], "KeyCount": 0, "IsTruncated": False},
        {"Bucket": BUCKET, "Prefix": f"{PREFIX}/", "ExpectedBucketOwner": "111122223333"},
    )
    with stubber:
        assert catalog.scan() == []
    stubber.assert_no_pending_responses()
