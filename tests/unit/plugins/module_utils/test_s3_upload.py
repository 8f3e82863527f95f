"""The streaming upload: part sizes that always fit, bounded memory, abort on every failure."""

from __future__ import annotations

import hashlib
import threading
import time

import pytest

from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.s3_upload import (
    MAX_OBJECT_SIZE,
    MAX_PART_SIZE,
    MAX_PARTS,
    MIN_PART_SIZE,
    MiB,
    UploadStream,
    fixed_part_size,
    growing_part_size,
)


class FakeS3:
    """Records multipart calls; can fail a given part and delay parts to observe concurrency."""

    def __init__(self, fail_part=None, delay=0.0):
        self.fail_part = fail_part
        self.delay = delay
        self.parts = {}
        self.calls = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()

    def create_multipart_upload(self, **kwargs):
        self.calls.append(("create", kwargs))
        return {"UploadId": "up-1"}

    def upload_part(self, **kwargs):
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            time.sleep(self.delay)
            if kwargs["PartNumber"] == self.fail_part:
                raise ConnectionResetError("connection reset by peer")
            self.parts[kwargs["PartNumber"]] = bytes(kwargs["Body"])
            return {"ETag": f'"e{kwargs["PartNumber"]}"', "ChecksumCRC32": "AAAA"}
        finally:
            with self.lock:
                self.in_flight -= 1

    def complete_multipart_upload(self, **kwargs):
        self.calls.append(("complete", kwargs))
        return {"ETag": '"done-3"', "VersionId": "v1"}

    def abort_multipart_upload(self, **kwargs):
        self.calls.append(("abort", kwargs))

    def put_object(self, **kwargs):
        self.calls.append(("put", kwargs))
        return {"ETag": '"single"'}

    def kinds(self):
        return [kind for kind, _unused in self.calls]


def test_known_sizes_fit_in_10000_parts():
    assert fixed_part_size(10 * MiB, 8 * MiB) == 8 * MiB
    assert fixed_part_size(10 * MiB, 1 * MiB) == MIN_PART_SIZE
    for size in (100 * 1024**3, 1024**4, MAX_OBJECT_SIZE):
        part = fixed_part_size(size, 8 * MiB)
        assert -(-size // part) <= MAX_PARTS
        assert MIN_PART_SIZE <= part <= MAX_PART_SIZE
    with pytest.raises(OffsiteError, match="5 TiB"):
        fixed_part_size(MAX_OBJECT_SIZE + 1)


@pytest.mark.parametrize("base", [MIN_PART_SIZE, 8 * MiB, 64 * MiB])
def test_unknown_length_streams_reach_5_tib_within_10000_parts(base):
    sizes = [growing_part_size(n, base) for n in range(1, MAX_PARTS + 1)]
    assert sum(sizes) >= MAX_OBJECT_SIZE
    assert all(MIN_PART_SIZE <= size <= MAX_PART_SIZE for size in sizes)
    assert sizes[0] == base
    # s3transfer's fixed 8 MiB parts stop at ~78 GiB; the first 100 GiB here still use small parts
    total, count = 0, 0
    while total < 100 * 1024**3:
        count += 1
        total += sizes[count - 1]
    assert sizes[count - 1] <= 16 * base


def test_multipart_upload_in_order_with_sha256_and_bounded_concurrency():
    fake = FakeS3(delay=0.02)
    data = bytes(range(256)) * (4 * 23 * 1024 + 7)  # ~23 MiB, not a multiple of the part size
    stream = UploadStream(
        fake, "b", "k", part_size=5 * MiB, max_concurrency=2, extra_args={"StorageClass": "X"}
    )
    for start in range(0, len(data), 65536):
        stream.write(data[start : start + 65536])
    result = stream.close()
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert result.size == len(data)
    assert b"".join(fake.parts[n] for n in sorted(fake.parts)) == data
    assert fake.max_in_flight <= 2
    assert fake.kinds() == ["create", "complete"]
    assert fake.calls[0][1]["StorageClass"] == "X"
    parts = fake.calls[1][1]["MultipartUpload"]["Parts"]
    assert [p["PartNumber"] for p in parts] == list(range(1, 6))
    assert parts[0]["ChecksumCRC32"] == "AAAA"


def test_small_streams_are_a_single_put():
    fake = FakeS3()
    with UploadStream(fake, "b", "k", extra_args={"ExpectedBucketOwner": "1"}) as stream:
        stream.write(b"tiny")
    assert fake.kinds() == ["put"]
    assert fake.calls[0][1]["Body"] == b"tiny"
    assert stream.result.sha256 == hashlib.sha256(b"tiny").hexdigest()


def test_a_failed_part_aborts_the_upload():
    fake = FakeS3(fail_part=2)
    stream = UploadStream(fake, "b", "k", part_size=5 * MiB, max_concurrency=1)
    with pytest.raises(OffsiteError):
        for _unused in range(30):
            stream.write(b"x" * MiB)
        stream.close()
    assert fake.kinds() == ["create", "abort"]


def test_an_exception_in_the_producer_aborts_the_upload():
    fake = FakeS3()
    with (
        pytest.raises(RuntimeError, match="dump failed"),
        UploadStream(fake, "b", "k", part_size=5 * MiB) as stream,
    ):
        stream.write(b"x" * (6 * MiB))
        raise RuntimeError("dump failed")
    assert fake.kinds() == ["create", "abort"]
    with pytest.raises(OffsiteError, match="closed"):
        stream.write(b"more")


def test_a_wrong_digest_or_length_aborts_before_completing():
    fake = FakeS3()
    stream = UploadStream(fake, "b", "k", part_size=5 * MiB, expected_sha256="0" * 64)
    stream.write(b"y" * (7 * MiB))
    with pytest.raises(OffsiteError, match="not the expected"):
        stream.close()
    assert fake.kinds() == ["create", "abort"]
    fake = FakeS3()
    stream = UploadStream(fake, "b", "k", size=10)
    stream.write(b"123")
    with pytest.raises(OffsiteError, match="announced 10"):
        stream.close()
    assert fake.kinds() == []
