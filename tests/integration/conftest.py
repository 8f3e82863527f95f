"""Integration fixtures: test servers on loopback and scripted MongoDB nodes."""

from __future__ import annotations

import contextlib
import uuid

import pytest
from support import servers
from support.fsync_fake import FsyncFake
from support.replset import start_replica_set


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory):
    """A real S3 HTTP endpoint: moto on loopback, or OFFSITE_TEST_S3_ENDPOINT."""
    yield from servers.s3_endpoint(tmp_path_factory.mktemp("moto"))


def _fresh_bucket(s3_endpoint):
    """A new, empty bucket; emptied and removed afterwards."""
    client = s3_endpoint.client()
    name = f"offsite-test-{uuid.uuid4().hex[:16]}"
    client.create_bucket(Bucket=name)
    yield name
    paginator = client.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=name):
        for item in page.get("Versions", []) + page.get("DeleteMarkers", []):
            try:
                client.delete_object(Bucket=name, Key=item["Key"], VersionId=item["VersionId"])
            except Exception:  # noqa: S112 - object-locked test objects stay in the throwaway server
                continue
    for upload in client.list_multipart_uploads(Bucket=name).get("Uploads", []):
        client.abort_multipart_upload(Bucket=name, Key=upload["Key"], UploadId=upload["UploadId"])
    # A bucket with locked objects cannot be removed; moto's server dies with the session.
    with contextlib.suppress(Exception):
        client.delete_bucket(Bucket=name)


@pytest.fixture
def s3_bucket(s3_endpoint):
    """A fresh, empty bucket on the test endpoint, emptied and removed afterwards."""
    yield from _fresh_bucket(s3_endpoint)


@pytest.fixture(scope="module")
def module_bucket(s3_endpoint):
    """A bucket shared by the tests of one module (for scenarios split into steps)."""
    yield from _fresh_bucket(s3_endpoint)


@pytest.fixture(scope="session")
def mongo_server(tmp_path_factory):
    """A MongoDB server: nx-27017 on loopback, or OFFSITE_TEST_MONGODB_URI."""
    yield from servers.mongo_server(tmp_path_factory.mktemp("mongo"))


@pytest.fixture
def mongo_uri(mongo_server):
    return mongo_server.uri


@pytest.fixture
def fsync_fake():
    """A scripted standalone mongod (mockupdb) that keeps fsync lock state; see support/fsync_fake.py."""
    fake = FsyncFake().start()
    yield fake
    fake.stop()


@pytest.fixture
def make_fsync_fake():
    """Build scripted nodes of other kinds (secondary, mongos, arbiter) or with errors."""
    started = []

    def make(**kwargs):
        fake = FsyncFake(**kwargs).start()
        started.append(fake)
        return fake

    yield make
    for fake in started:
        fake.stop()


@pytest.fixture(scope="session")
def replica_set(tmp_path_factory):
    """The replica-set stand-in (support/replset): primary, secondary, hidden secondary, arbiter on loopback."""
    started = start_replica_set(tmp_path_factory.mktemp("replset"))
    yield started
    started.stop()


@pytest.fixture
def make_replica_set(tmp_path_factory):
    """Start extra sets with other settings (oplog cap, version, members); all stopped afterwards."""
    started = []

    def make(**kwargs):
        replica = start_replica_set(tmp_path_factory.mktemp("replset"), **kwargs)
        started.append(replica)
        return replica

    yield make
    for replica in started:
        replica.stop()
