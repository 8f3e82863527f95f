"""Compression streams: gzip / zstd / none, detected from magic bytes only, with one-line errors."""

from __future__ import annotations

import gzip
import io
import os
import zlib

import pytest
import zstandard

from ansible_collections.offsite.mongodb.plugins.module_utils import compression
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError

PAYLOAD = compression.ARCHIVE_MAGIC + os.urandom(300_000) + b"tail" * 100_000


def compress(data: bytes, kind: str, level=None) -> bytes:
    out = io.BytesIO()
    writer = compression.compressing_writer(out, kind, level)
    for start in range(0, len(data), 65536):
        writer.write(data[start : start + 65536])
    writer.finish()
    assert not out.closed  # the sink stays open for the caller (file commit, S3 upload)
    return out.getvalue()


@pytest.fixture(params=["isal", "zlib"])
def inflate_backend(request, monkeypatch):
    """Each gzip reading test runs with ISA-L (the backend when isal is installed) and with the stdlib."""
    if request.param == "zlib":
        monkeypatch.setattr(compression, "inflate_library", zlib)
        monkeypatch.setattr(compression, "INFLATE_ERRORS", (zlib.error,))
    return request.param


def test_isal_inflates_gzip_when_installed():
    assert compression.INFLATE_BACKEND == "isal"
    assert compression.inflate_library.__name__ == "isal.isal_zlib"


def read_all(stream) -> bytes:
    chunks = []
    while True:
        chunk = stream.read(100_000)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


@pytest.mark.parametrize("kind", ["gzip", "zstd", "none"])
def test_round_trip_and_detection(kind):
    data = compress(PAYLOAD, kind)
    reader, detected = compression.decompressing_reader(io.BytesIO(data))
    assert detected == kind
    assert read_all(reader) == PAYLOAD


def test_gzip_is_readable_by_the_stdlib_and_has_go_like_header():
    data = compress(PAYLOAD, "gzip")
    assert gzip.decompress(data) == PAYLOAD
    assert data[:3] == b"\x1f\x8b\x08"
    assert data[3] == 0  # no file name field
    assert data[4:8] == b"\0\0\0\0"  # mtime 0
    assert data[9] == 0xFF  # OS unknown, as Go writes


def test_zstd_is_readable_by_zstandard():
    data = compress(PAYLOAD, "zstd", level=1)
    assert zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data)).read() == PAYLOAD


def test_concatenated_gzip_members_are_read_like_go_does(inflate_backend):
    data = gzip.compress(PAYLOAD[:1000]) + gzip.compress(PAYLOAD[1000:])
    reader, _unused = compression.decompressing_reader(io.BytesIO(data))
    assert read_all(reader) == PAYLOAD


def test_detection_ignores_the_file_name(tmp_path):
    path = tmp_path / "looks-plain.archive"
    path.write_bytes(compress(PAYLOAD, "gzip"))
    with open(path, "rb") as handle:
        _unused, detected = compression.decompressing_reader(handle)
    assert detected == "gzip"


def test_unknown_magic_is_a_one_line_error():
    with pytest.raises(
        OffsiteError, match="corrupt or not a mongodump archive at byte 0: it starts with 50 4b 03 04"
    ):
        compression.decompressing_reader(io.BytesIO(b"PK\x03\x04rest"))
    with pytest.raises(OffsiteError, match="starts with nothing"):
        compression.decompressing_reader(io.BytesIO(b""))


def test_truncated_gzip_fails_cleanly(inflate_backend):
    data = compress(PAYLOAD, "gzip")[:-100]
    reader, _unused = compression.decompressing_reader(io.BytesIO(data))
    with pytest.raises(OffsiteError, match="truncated") as caught:
        read_all(reader)
    assert "\n" not in str(caught.value)


def test_damaged_gzip_fails_cleanly(inflate_backend):
    data = bytearray(compress(PAYLOAD, "gzip"))
    data[200:220] = b"\xff" * 20
    reader, _unused = compression.decompressing_reader(io.BytesIO(bytes(data)))
    with pytest.raises(OffsiteError, match="corrupt gzip stream near compressed byte"):
        read_all(reader)


def test_damaged_zstd_fails_cleanly():
    data = bytearray(compress(PAYLOAD, "zstd"))
    data[100:140] = b"\x00" * 40
    reader, _unused = compression.decompressing_reader(io.BytesIO(bytes(data)))
    with pytest.raises(OffsiteError, match="corrupt zstd stream near compressed byte"):
        read_all(reader)


@pytest.mark.parametrize(
    ("kind", "level", "message"),
    [("gzip", 10, "between 0 and 9"), ("zstd", 23, "between -7 and 22"), ("lz4", None, "must be one of")],
)
def test_bad_levels_and_names(kind, level, message):
    with pytest.raises(OffsiteError, match=message):
        compression.check_level(kind, level)


def test_default_levels():
    assert compression.check_level("gzip", None) == 6
    assert compression.check_level("zstd", None) == 2
    assert compression.check_level("none", 5) is None


def test_truncated_zstd_fails_cleanly():
    data = compress(PAYLOAD, "zstd")
    for cut in (len(data) - 3, len(data) // 2):
        reader, _unused = compression.decompressing_reader(io.BytesIO(data[:cut]))
        with pytest.raises(OffsiteError, match="truncated zstd stream"):
            read_all(reader)


def test_concatenated_zstd_frames():
    data = compress(PAYLOAD[:5000], "zstd") + compress(PAYLOAD[5000:], "zstd")
    reader, _unused = compression.decompressing_reader(io.BytesIO(data))
    assert read_all(reader) == PAYLOAD


# -- gzip on several cores ---------------------------------------------------------------------------------
BIG = (
    compression.ARCHIVE_MAGIC + (os.urandom(700_000).hex().encode() * 3)[: 3 * compression.GZIP_BLOCK + 12345]
)


def gzip_members(data: bytes) -> int:
    """How many gzip members ``data`` holds (each is a whole stream for zlib)."""
    members = 0
    while data:
        inflate = zlib.decompressobj(wbits=31)
        inflate.decompress(data)
        assert inflate.eof
        data = inflate.unused_data
        members += 1
    return members


def compress_in_pieces(data: bytes, threads: int, piece: int = 300_001) -> bytes:
    out = io.BytesIO()
    writer = compression.compressing_writer(out, "gzip", threads=threads)
    for start in range(0, len(data), piece):
        writer.write(data[start : start + piece])
    writer.finish()
    return out.getvalue()


@pytest.mark.parametrize("threads", [1, 2, 8])
def test_parallel_gzip_writes_members_in_order_that_the_stdlib_reads_back(threads, inflate_backend):
    data = compress_in_pieces(BIG, threads)
    assert gzip_members(data) == 4  # three whole 1 MiB blocks and the rest
    assert gzip.decompress(data) == BIG
    reader, detected = compression.decompressing_reader(io.BytesIO(data))
    assert (detected, read_all(reader)) == ("gzip", BIG)


def test_parallel_gzip_takes_one_big_write_and_copies_mutable_input():
    out = io.BytesIO()
    writer = compression.compressing_writer(out, "gzip", threads=2)
    buffer = bytearray(BIG)
    writer.write(buffer)
    buffer[:] = b"\0" * len(buffer)  # the caller reuses its buffer: what was written must not change
    writer.finish()
    assert gzip.decompress(out.getvalue()) == BIG


def test_empty_gzip_stream_is_one_valid_member():
    data = compress(b"", "gzip")
    assert gzip_members(data) == 1
    assert gzip.decompress(data) == b""


def test_stdlib_zlib_fallback_when_libdeflate_is_missing(monkeypatch):
    monkeypatch.setattr(compression, "libdeflate", None)
    assert compression.gzip_member_function() is compression._zlib_member
    data = compress_in_pieces(BIG, threads=2)
    assert gzip_members(data) == 4
    assert gzip.decompress(data) == BIG
    assert data[3] == 0 and data[4:8] == b"\0\0\0\0" and data[9] == 0xFF  # the header Go writes


def test_libdeflate_level_table_covers_every_gzip_level():
    low, high = compression.LEVEL_RANGES["gzip"]
    assert sorted(compression.LIBDEFLATE_LEVELS) == list(range(low, high + 1))
    for level in (0, 1, 9):
        assert gzip.decompress(compress(PAYLOAD, "gzip", level)) == PAYLOAD


def test_threads_follow_the_cores_and_a_cap_limits_them(monkeypatch):
    monkeypatch.setattr(compression, "cpu_threads", lambda: 6)
    assert compression.check_threads(0) == 6
    assert compression.check_threads(2) == 2
    assert compression.check_threads(64) == 6


@pytest.mark.parametrize(
    ("kind", "level", "threads", "message"),
    [
        ("gzip", 12, 0, "compression_level for gzip must be between 0 and 9, got 12"),
        ("gzip", None, -1, "compression threads must be 0 (one per CPU core) or a positive cap, got -1"),
        ("zstd", None, "4", "compression threads must be 0 (one per CPU core) or a positive cap, got '4'"),
    ],
)
def test_writer_option_errors_are_one_line(kind, level, threads, message):
    with pytest.raises(OffsiteError) as caught:
        compression.compressing_writer(io.BytesIO(), kind, level, threads=threads)
    assert str(caught.value) == message


def test_zstd_with_worker_threads_round_trips():
    out = io.BytesIO()
    writer = compression.compressing_writer(out, "zstd", threads=2)
    writer.write(BIG)
    writer.finish()
    assert zstandard.ZstdDecompressor().stream_reader(io.BytesIO(out.getvalue())).read() == BIG
