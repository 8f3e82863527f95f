"""The spec-only archive checker (tests/unit/helpers/archive_spec.py) against real mongodump archives."""

from __future__ import annotations

import pytest

from ansible_collections.offsite.mongodb.tests.unit.helpers.archive_spec import FIXTURES, spec_crc, walk


def test_spec_crc_check_value():
    assert spec_crc(0, b"123456789") == 0x995DC9BBDF1939FA


@pytest.mark.parametrize(
    ("name", "counts"),
    [
        ("test.bar.archive", {"admin.system.version": 1, "test.bar": 1}),
        ("dump-w-oplog.archive", {"admin.system.version": 1, "test.foo": 25, ".oplog": 18}),
        (
            "timeseries-dump.archive",
            {"admin.system.views": 0, "timeseries_test.system.buckets.foo_ts": 10, "admin.system.version": 1},
        ),
        ("argon-base_dump.archive.gz", {"test.test": 2}),
        ("bad-format.archive", {"test.ixtest": 0}),
    ],
)
def test_walker_accepts_real_mongodump_archives(name, counts):
    report = walk((FIXTURES / "mongodump" / "archive" / name).read_bytes(), strict=False)
    assert report["namespaces"] == counts


def test_walker_rejects_a_bad_crc():
    data = bytearray((FIXTURES / "mongodump" / "archive" / "test.bar.archive").read_bytes())
    data[820] ^= 1  # inside the test.bar document (spec 2.11: offsets 796-830)
    with pytest.raises(AssertionError, match=r"CRC mismatch for test\.bar"):
        walk(bytes(data), strict=False)
