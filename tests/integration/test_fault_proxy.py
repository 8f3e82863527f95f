"""The fault proxy itself: every fault it offers, seen from a real boto3 / pymongo client."""

from __future__ import annotations

import socket
import time
import uuid

import boto3
import pymongo
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError
from support.fault_proxy_control import start_fault_proxy


@pytest.fixture(scope="module")
def s3_proxy(s3_endpoint, tmp_path_factory):
    port = int(s3_endpoint.endpoint_url.rsplit(":", 1)[1])
    proxy = start_fault_proxy(port, "http", tmp_path_factory.mktemp("proxy"))
    yield proxy
    proxy.stop()


@pytest.fixture(scope="module")
def mongo_proxy(mongo_server, tmp_path_factory):
    port = int(mongo_server.uri.split(":")[2].split("/")[0])
    proxy = start_fault_proxy(port, "tcp", tmp_path_factory.mktemp("proxy"))
    yield proxy
    proxy.stop()


@pytest.fixture
def s3(s3_proxy, s3_endpoint):
    s3_proxy.clear()
    client = boto3.client(
        "s3",
        endpoint_url=s3_proxy.url,
        aws_access_key_id=s3_endpoint.access_key,
        aws_secret_access_key=s3_endpoint.secret_key,
        region_name=s3_endpoint.region,
        config=Config(
            retries={"total_max_attempts": 1, "mode": "standard"}, connect_timeout=2, read_timeout=5
        ),
    )
    bucket = f"offsite-test-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    yield client, bucket
    s3_proxy.clear()


def test_relays_requests_unchanged_and_logs_them(s3, s3_proxy):
    client, bucket = s3
    client.put_object(Bucket=bucket, Key="a", Body=b"x" * 100_000)
    assert client.get_object(Bucket=bucket, Key="a")["Body"].read() == b"x" * 100_000
    assert client.head_object(Bucket=bucket, Key="a")["ContentLength"] == 100_000
    seen = [(e["method"], e["path"]) for e in s3_proxy.events()]
    assert (
        ("PUT", f"/{bucket}/a") in seen
        and ("GET", f"/{bucket}/a") in seen
        and ("HEAD", f"/{bucket}/a") in seen
    )


@pytest.mark.parametrize(
    "action,status,code",
    [("status", 500, "InternalError"), ("status", 503, "ServiceUnavailable"), ("slowdown", 503, "SlowDown")],
)
def test_error_replies_to_matching_requests_for_a_count(s3, s3_proxy, action, status, code):
    client, bucket = s3
    upload = client.create_multipart_upload(Bucket=bucket, Key="big")["UploadId"]
    s3_proxy.add(action, method="PUT", query="partNumber", status=status, count=1)
    with pytest.raises(ClientError) as failure:
        client.upload_part(Bucket=bucket, Key="big", UploadId=upload, PartNumber=1, Body=b"y" * 1000)
    assert failure.value.response["Error"]["Code"] == code
    assert failure.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    client.put_object(Bucket=bucket, Key="other", Body=b"z")  # not matched: goes through
    client.upload_part(
        Bucket=bucket, Key="big", UploadId=upload, PartNumber=1, Body=b"y" * 1000
    )  # count used up
    assert [e["action"] for e in s3_proxy.events() if "partNumber" in e["query"]] == [action, None]


def test_rules_until_cleared_and_abort_matching(s3, s3_proxy):
    client, bucket = s3
    upload = client.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    s3_proxy.add("status", method="DELETE", query="uploadId", status=500)
    for _unused in range(3):
        with pytest.raises(ClientError):
            client.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=upload)
    s3_proxy.clear()
    client.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=upload)
    assert client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_cut_request_and_response_after_n_bytes(s3, s3_proxy):
    client, bucket = s3
    s3_proxy.add("cut", method="PUT", path="/cut", after_bytes=2000, direction="up", count=1)
    with pytest.raises(Exception):  # noqa: B017 - botocore raises a connection error class
        client.put_object(Bucket=bucket, Key="cut", Body=b"q" * 50_000)
    assert "Contents" not in client.list_objects_v2(Bucket=bucket)
    client.put_object(Bucket=bucket, Key="whole", Body=b"w" * 50_000)
    s3_proxy.add("cut", method="GET", path="/whole", after_bytes=1000, direction="down", count=1)
    with pytest.raises(Exception):  # noqa: B017
        client.get_object(Bucket=bucket, Key="whole")["Body"].read()


def test_reset_and_delay(s3, s3_proxy):
    client, bucket = s3
    s3_proxy.add("reset", method="GET", count=1)
    with pytest.raises(Exception):  # noqa: B017
        client.list_objects_v2(Bucket=bucket)
    s3_proxy.add("delay", method="GET", seconds=0.6, count=1)
    started = time.monotonic()
    client.list_objects_v2(Bucket=bucket)
    assert time.monotonic() - started >= 0.6


def test_down_refuses_connections_and_up_comes_back(s3, s3_proxy):
    client, bucket = s3
    s3_proxy.down()
    with socket.socket() as sock, pytest.raises(ConnectionRefusedError):
        sock.connect(("127.0.0.1", s3_proxy.port))
    with pytest.raises(EndpointConnectionError):
        client.list_objects_v2(Bucket=bucket)
    s3_proxy.up()
    assert client.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_tcp_mode_in_front_of_mongodb(mongo_proxy):
    mongo_proxy.clear()
    uri = f"mongodb://127.0.0.1:{mongo_proxy.port}/?directConnection=true&serverSelectionTimeoutMS=1500"
    with pymongo.MongoClient(uri) as client:
        assert client.admin.command("ping")["ok"] == 1
    mongo_proxy.add("reset", count=None)
    with pymongo.MongoClient(uri) as client, pytest.raises(pymongo.errors.PyMongoError):
        client.admin.command("ping")
    mongo_proxy.clear()
    mongo_proxy.add("cut", after_bytes=20, direction="down")  # inside the first reply
    with pymongo.MongoClient(uri) as client, pytest.raises(pymongo.errors.PyMongoError):
        client.admin.command("ping")
    mongo_proxy.clear()
    mongo_proxy.down()
    with pymongo.MongoClient(uri) as client, pytest.raises(pymongo.errors.ServerSelectionTimeoutError):
        client.admin.command("ping")
    mongo_proxy.up()
    with pymongo.MongoClient(uri) as client:
        assert client.admin.command("ping")["ok"] == 1
    assert mongo_proxy.events("connection")
