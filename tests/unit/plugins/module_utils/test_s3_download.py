"""Ranged, ordered, verified downloads against a stubbed S3 client."""

from __future__ import annotations

import hashlib
import os
import time

import pytest

from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.s3_download import DownloadStream
from ansible_collections.offsite.mongodb.plugins.module_utils.s3_upload import MiB
from ansible_collections.offsite.mongodb.tests.unit.helpers.s3_stubs import BUCKET, body, stubbed_client

KEY = "mongodb-backups/rs0/20261120T000000Z/mongodump.archive.gz"
DATA = os.urandom(2 * MiB + 12345)  # three 1 MiB ranges, the last one short
ETAG = '"0123456789abcdef"'


def expect_ranges(stubber, data, stored=None, etag=ETAG):
    """One ranged GET per MiB, in order, each pinned to the ETag; ``stored`` is what S3 really holds."""
    stored = data if stored is None else stored
    for start in range(0, len(data), MiB):
        end = min(start + MiB, len(data)) - 1
        stubber.add_response(
            "get_object",
            {"Body": body(stored[start : end + 1]), "ContentRange": f"bytes {start}-{end}/{len(stored)}"},
            {"Bucket": BUCKET, "Key": KEY, "Range": f"bytes={start}-{end}", "IfMatch": etag},
        )


def stream(client, data=DATA, sha256=None, concurrency=1):
    return DownloadStream(
        client, BUCKET, KEY, size=len(data), expected_sha256=sha256 or hashlib.sha256(data).hexdigest(),
        part_size=MiB, max_concurrency=concurrency, etag=ETAG,
    )  # fmt: skip


def test_ranges_arrive_in_order_and_the_digest_is_checked_at_the_end():
    client, stubber = stubbed_client()
    expect_ranges(stubber, DATA)
    with stubber:
        download = stream(client)
        pieces = []
        while True:
            piece = download.read(300_001)
            if not piece:
                break
            assert not download.verified or not pieces  # verified only once the end is reached
            pieces.append(piece)
    assert b"".join(pieces) == DATA
    assert download.verified and download.received == len(DATA)
    stubber.assert_no_pending_responses()


class _SlowFirstRanges:
    """Answers ranged GETs from ``data``; earlier ranges answer later, so the replies arrive out of order."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.asked = []

    def get_object(self, Bucket, Key, Range, **kwargs):
        start, end = (int(x) for x in Range.split("=")[1].split("-"))
        self.asked.append(start)
        time.sleep(0.05 if start == 0 else 0)
        piece = self.data[start : end + 1]
        return {"Body": body(piece), "ContentRange": f"bytes {start}-{end}/{len(self.data)}"}


def test_parallel_ranges_are_delivered_in_order():
    data = os.urandom(5 * MiB)
    client = _SlowFirstRanges(data)
    download = stream(client, data, concurrency=3)
    assert b"".join(download.iter_chunks()) == data
    assert download.verified
    assert sorted(client.asked) == [n * MiB for n in range(5)]


def test_a_wrong_digest_fails_at_the_end():
    client, stubber = stubbed_client()
    expect_ranges(stubber, DATA)
    with stubber:
        download = stream(client, sha256="0" * 64)
        with pytest.raises(
            OffsiteError, match=r"has SHA-256 [0-9a-f]{64}, not the 0{64} its manifest records"
        ):
            download.read()
    assert not download.verified


def test_an_object_of_another_size_fails_on_the_first_range():
    client, stubber = stubbed_client()
    longer = DATA + b"x"
    stubber.add_response(
        "get_object",
        {"Body": body(longer[:MiB]), "ContentRange": f"bytes 0-{MiB - 1}/{len(longer)}"},
        {"Bucket": BUCKET, "Key": KEY, "Range": f"bytes=0-{MiB - 1}", "IfMatch": ETAG},
    )
    with (
        stubber,
        pytest.raises(
            OffsiteError, match=f"has {len(longer)} bytes, not the {len(DATA)} its manifest records"
        ),
    ):
        stream(client).read(10)


def test_a_truncated_object_fails():
    client, stubber = stubbed_client()
    short = DATA[: 2 * MiB]
    for start, end in ((0, MiB - 1), (MiB, 2 * MiB - 1), (2 * MiB, len(DATA) - 1)):
        stubber.add_response(
            "get_object",
            {"Body": body(short[start : end + 1])},  # no ContentRange: only the byte count can tell
            {"Bucket": BUCKET, "Key": KEY, "Range": f"bytes={start}-{end}", "IfMatch": ETAG},
        )
    with stubber, pytest.raises(OffsiteError, match=f"has {len(short)} bytes, not the {len(DATA)}"):
        stream(client).read()


def test_an_overwritten_object_fails_the_read_instead_of_mixing_two_objects():
    client, stubber = stubbed_client()
    stubber.add_client_error(
        "get_object", "PreconditionFailed", "At least one of the pre-conditions failed", 412
    )
    with stubber, pytest.raises(OffsiteError, match="changed while it was being read"):
        stream(client).read(1)


def test_an_empty_object_is_read_without_a_request():
    client, stubber = stubbed_client()
    with stubber:
        download = stream(client, data=b"")
        assert download.read() == b""
    assert download.verified
