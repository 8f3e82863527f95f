"""A backup cleans up the unfinished uploads that dead runs of its set left, never a running one's."""

from __future__ import annotations

from datetime import timedelta

from ansible_collections.offsite.mongodb.plugins.module_utils.catalog import Catalog
from ansible_collections.offsite.mongodb.plugins.module_utils.times import utc_now

PREFIX = "stale-test"


def start_upload(client, bucket, key, with_part):
    upload_id = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    if with_part:
        client.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=1, Body=b"x" * 1024)
    return upload_id


def test_only_uploads_idle_longer_than_the_limit_are_stale(s3_endpoint, s3_bucket):
    client = s3_endpoint.client()
    catalog = Catalog(client, s3_bucket, PREFIX)
    dead = start_upload(
        client, s3_bucket, f"{PREFIX}/rs0/20261101T000000Z/mongodump.archive.gz", with_part=True
    )
    start_upload(client, s3_bucket, f"{PREFIX}/rs1/20261101T000000Z/mongodump.archive.gz", with_part=False)
    idle = timedelta(minutes=15)

    assert catalog.stale_uploads("rs0", idle) == []  # just touched: a backup that may still be running
    later = utc_now() + timedelta(hours=1)
    stale = catalog.stale_uploads("rs0", idle, now=later)
    assert [upload["UploadId"] for upload in stale] == [dead]  # only this set's

    catalog.abort_uploads(stale)
    remaining = client.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", [])
    assert [upload["Key"].split("/")[1] for upload in remaining] == ["rs1"]
    catalog.abort_uploads(stale)  # already gone: aborting again is fine
