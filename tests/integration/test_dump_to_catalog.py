"""mongo_dump_archive streaming straight into the S3 catalog: no local file, manifest last, abort on failure."""

from __future__ import annotations

import os

import pymongo
import pytest
from support.ansible_runner import run_module

from ansible_collections.offsite.mongodb.plugins.module_utils._tasks import dump as dump_task
from ansible_collections.offsite.mongodb.plugins.module_utils.catalog import Catalog
from ansible_collections.offsite.mongodb.plugins.module_utils.dump_plan import DumpPlan
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError

SECRET = "offsite+Stream/Secret-Never-Shown-5b1c"
PREFIX = "stream-it"


@pytest.fixture
def stream_db(mongo_uri):
    client = pymongo.MongoClient(mongo_uri)
    client.drop_database("streamshop")
    client.drop_database("streamshop_back")
    client.streamshop.orders.insert_many([{"_id": i, "n": i, "pad": "y" * (i % 50)} for i in range(2500)])
    client.streamshop.items.insert_many([{"_id": i, "sku": f"s{i}"} for i in range(40)])
    yield client
    client.drop_database("streamshop")
    client.drop_database("streamshop_back")
    client.close()


def s3_env(endpoint):
    access, secret = (
        (endpoint.access_key, endpoint.secret_key) if endpoint.real else ("AKIASTREAMTEST", SECRET)
    )
    return {"AWS_ACCESS_KEY_ID": access, "AWS_SECRET_ACCESS_KEY": secret, "AWS_CONFIG_FILE": os.devnull}


def s3_args(endpoint, bucket, **extra):
    return {
        "bucket": bucket,
        "prefix": PREFIX,
        "endpoint_url": endpoint.endpoint_url,
        "region": endpoint.region,
        **extra,
    }


def test_dump_streams_into_the_catalog_and_restores(mongo_uri, stream_db, s3_endpoint, s3_bucket, tmp_path):
    env = s3_env(s3_endpoint)
    args = s3_args(s3_endpoint, s3_bucket, uri=mongo_uri, set_name="rs-stream", include=["streamshop.*"])

    planned = run_module("mongo_dump_archive", {**args, "compression": "zstd"}, check=True, env=env)
    assert planned["changed"] is True
    assert planned["documents"] == 2540
    assert s3_endpoint.client().list_objects_v2(Bucket=s3_bucket).get("KeyCount", 0) == 0

    dumped = run_module(
        "mongo_dump_archive", {**args, "compression": "zstd", "labels": {"why": "test"}}, env=env
    )
    assert dumped["changed"] is True, dumped
    assert dumped["path"] is None
    assert dumped["documents"] == 2540
    assert dumped["manifest"]["archive"]["sha256"] == dumped["sha256"]
    assert SECRET not in dumped["_stdout"]

    listed = run_module("s3_backup_archive_info", s3_args(s3_endpoint, s3_bucket), env=env)
    assert [(b["backup_id"], b["complete"]) for b in listed["backups"]] == [(dumped["backup_id"], True)]

    fetched = run_module(
        "s3_backup_archive",
        s3_args(s3_endpoint, s3_bucket, mode="get", set_name="rs-stream", dest=str(tmp_path / "a.zst")),
        env=env,
    )
    assert fetched.get("verified") is True, fetched
    assert fetched["sha256"] == dumped["sha256"]
    restored = run_module(
        "mongo_restore_archive",
        {
            "uri": mongo_uri,
            "src": fetched["dest"],
            "ns_from": ["streamshop.*"],
            "ns_to": ["streamshop_back.*"],
        },
    )
    assert restored["counts_match"] is True
    assert stream_db.streamshop_back.orders.count_documents({}) == 2500

    again = run_module("mongo_dump_archive", {**args, "backup_id": dumped["backup_id"]}, env=env)
    assert again["failed"] is True
    assert "already exists" in again["msg"]


def test_a_dump_that_fails_midway_leaves_no_parts_and_no_manifest(s3_endpoint, s3_bucket, monkeypatch):
    """The dump fails after whole parts went up: the multipart upload is aborted and nothing is listed."""

    def failing_dump(client, sink, plan):
        for _unused in range(3):
            sink.write(b"\0" * (5 * 1024 * 1024))
        raise OffsiteError("MongoDB failed to dump: connection reset")

    monkeypatch.setattr(dump_task, "dump_archive", failing_dump)
    s3 = s3_endpoint.client()
    catalog = Catalog(s3, s3_bucket, PREFIX, part_size=5 * 1024 * 1024, max_concurrency=2)

    class Client:
        closed = False

        def close(self):
            self.closed = True

    client = Client()
    with pytest.raises(OffsiteError, match="connection reset"):
        dump_task.dump_to_catalog(lambda: client, catalog, "rs-fail", DumpPlan(compression="none"))
    assert client.closed
    assert s3.list_objects_v2(Bucket=s3_bucket).get("KeyCount", 0) == 0
    assert s3.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", []) == []
    assert catalog.scan() == []


def test_bucket_and_dest_are_exclusive_and_set_name_is_required(mongo_uri, tmp_path):
    both = run_module(
        "mongo_dump_archive", {"uri": mongo_uri, "dest": str(tmp_path / "x"), "bucket": "b-b-b"}
    )
    assert both["failed"] is True
    assert "mutually exclusive" in both["msg"]
    no_set = run_module("mongo_dump_archive", {"uri": mongo_uri, "bucket": "b-b-b"})
    assert "set_name" in no_set["msg"]
    neither = run_module("mongo_dump_archive", {"uri": mongo_uri})
    assert "one of the following is required: dest, bucket" in neither["msg"]
