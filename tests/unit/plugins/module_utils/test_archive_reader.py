"""The archive format: real mongodump fixtures, byte-for-byte round trips and corruption handling."""

from __future__ import annotations

import base64
import glob
import hashlib
import io
import math
import re
import urllib.parse
import uuid
from pathlib import Path

import bson
import pytest
from bson import SON, Binary, Code, DBRef, Decimal128, Int64, MaxKey, MinKey, ObjectId, Regex, Timestamp
from bson.codec_options import CodecOptions, DatetimeConversion
from bson.datetime_ms import DatetimeMS

from ansible_collections.offsite.mongodb.plugins.module_utils import (
    archive_format,
    archive_reader,
    compression,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.archive_format import (
    ArchiveError,
    ArchiveHeader,
    PreludeEntry,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.archive_reader import EVENT_BYTES, ArchiveReader
from ansible_collections.offsite.mongodb.plugins.module_utils.archive_writer import ArchiveWriter
from ansible_collections.offsite.mongodb.plugins.module_utils.checksum import crc64
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.server_version import parse_archive_version
from ansible_collections.offsite.mongodb.tests.unit.helpers.archive_spec import walk
from ansible_collections.offsite.mongodb.tests.unit.helpers.archives import build
from ansible_collections.offsite.mongodb.tests.unit.helpers.fixtures import MONGODUMP_FIXTURES

MONGODUMP = MONGODUMP_FIXTURES

# From fixtures/mongodump/README.md: {file: (compression, {ns: documents}, {ns: crc})}
ARCHIVES = {
    "test.bar.archive": (
        "none",
        {"admin.system.version": 1, "test.bar": 1},
        {"admin.system.version": 0xF685812FD02A263E, "test.bar": 0x9369F0F35BEC50D9},
    ),
    "dump-w-oplog.archive": ("none", {"admin.system.version": 1, "test.foo": 25, ".oplog": 18}, {}),
    "timeseries-dump.archive": (
        "none",
        {"admin.system.views": 0, "timeseries_test.system.buckets.foo_ts": 10, "admin.system.version": 1},
        {"timeseries_test.system.buckets.foo_ts": 0x050C2A9B4FDA5C99, "admin.system.views": 0},
    ),
    "argon-base_dump.archive.gz": ("gzip", {"test.test": 2}, {}),
}


def open_archive(data: bytes, parse_metadata: bool = True) -> ArchiveReader:
    stream, _unused = compression.decompressing_reader(io.BytesIO(data))
    return ArchiveReader(stream, parse_metadata=parse_metadata)


def read_fixture(name: str):
    stream, kind = compression.decompressing_reader(io.BytesIO((MONGODUMP / "archive" / name).read_bytes()))
    reader, totals = archive_reader.read_all(stream)
    return reader, kind, {t.ns: t for t in totals}


def test_every_archive_fixture_is_covered():
    names = {path.name for path in (MONGODUMP / "archive").iterdir()}
    assert names == set(ARCHIVES) | {"bad-format.archive"}


@pytest.mark.parametrize("name", sorted(ARCHIVES))
def test_reader_finds_the_readme_counts(name):
    kind, counts, crcs = ARCHIVES[name]
    reader, detected, totals = read_fixture(name)
    assert detected == kind
    assert {ns: t.documents for ns, t in totals.items()} == counts
    for ns, crc in crcs.items():
        assert totals[ns].crc == crc
    assert reader.header.version == "0.1"
    assert reader.header.concurrent_collections == 4
    assert parse_archive_version(reader.header.server_version) is not None


def test_fixture_details_from_the_readme():
    reader, _unused, _unused = read_fixture("test.bar.archive")
    assert [(e.db, e.collection, e.type) for e in reader.entries] == [
        ("test", "bar", ""),
        ("admin", "system.version", ""),
    ]  # r3.4 preludes have no type field
    assert reader.metadata["admin.system.version"]["indexes"][1]["v"] == Decimal128("2")
    reader, _unused, _unused = read_fixture("dump-w-oplog.archive")
    oplog = next(e for e in reader.entries if e.is_oplog)
    assert (oplog.db, oplog.collection, oplog.metadata) == ("", "oplog", "")
    assert reader.metadata["test.foo"]["uuid"]
    reader, _unused, _unused = read_fixture("timeseries-dump.archive")
    ts = next(e for e in reader.entries if e.type == "timeseries")
    assert ts.ns == "timeseries_test.foo_ts"
    assert ts.data_collection(reader.version) == "system.buckets.foo_ts"
    assert reader.metadata[ts.ns]["options"]["timeseries"]["timeField"] == "ts"


def test_bad_format_fixture_fails_cleanly_naming_namespace_and_offset():
    data = (MONGODUMP / "archive" / "bad-format.archive").read_bytes()
    with pytest.raises(ArchiveError) as caught:
        open_archive(data)
    message = str(caught.value)
    assert "\n" not in message
    assert "at byte 106 in namespace test.ixtest" in message
    assert "metadata JSON is invalid" in message
    # the framing itself is valid: an empty namespace with CRC 0
    reader = open_archive(data, parse_metadata=False)
    list(reader.events())
    assert {t.ns: (t.documents, t.crc) for t in reader.totals.values()} == {"test.ixtest": (0, 0)}


# -- directory dumps: every .bson and metadata file -------------------------------------------------
DIR_COUNTS = {
    "usersdump/admin/system.users.bson": 1,
    "usersdump/admin/system.roles.bson": 1,
    "usersdump/admin/system.version.bson": 2,
    "oplogdump/oplog.bson": 3,
    "oplogdump/db1/c1.bson": 5,
    "oplogdump/admin/system.version.bson": 1,
    "collMod_ttl_index/oplog.bson": 2,
    "collMod_ttl_index/mongodump_test_db/coll1.bson": 10,
    "collMod_ttl_index/admin/system.version.bson": 1,
    "ts_dump/timeseries_test/system.buckets.foo_ts.bson": 10,
    "ts_dump/admin/system.views.bson": 0,
    "ts_dump/admin/system.version.bson": 1,
    "prelude_top_level/test/foo.bson": 1,
    "specialcharacter/db1/caf%C3%A9s.bson": 1,
    "loose/hashedIndexes.bson": 2,
}
LONG_NAME = next(iter(glob.glob(str(MONGODUMP / "dir" / "longcollectionname" / "db1" / "*.bson"))), "")


def test_every_directory_bson_file_has_the_readme_count():
    found = {
        str(Path(p).relative_to(MONGODUMP / "dir"))
        for p in glob.glob(str(MONGODUMP / "dir/**/*.bson"), recursive=True)
    }
    assert found == set(DIR_COUNTS) | {str(Path(LONG_NAME).relative_to(MONGODUMP / "dir"))}
    counts = dict(DIR_COUNTS)
    counts[str(Path(LONG_NAME).relative_to(MONGODUMP / "dir"))] = 1
    for relative, expected in counts.items():
        data = (MONGODUMP / "dir" / relative).read_bytes()
        lengths = list(archive_format.iter_document_lengths(data, archive_format.MAX_OPLOG_DOCUMENT))
        assert len(lengths) == expected, relative
        assert sum(lengths) == len(data)
        assert len(list(bson.decode_file_iter(io.BytesIO(data)))) == expected


def test_every_directory_metadata_file_parses():
    files = glob.glob(str(MONGODUMP / "dir/**/*.metadata.json"), recursive=True)
    assert len(files) == 14
    for path in files:
        text = Path(path).read_text(encoding="utf-8")
        metadata = archive_format.parse_metadata(text)
        assert "indexes" in metadata, path
        if '"$numberInt"' in text and not text.endswith("\n"):  # canonical: our writer gives the same bytes
            assert archive_format.metadata_json(metadata) == text, path
    ttl = archive_format.parse_metadata(
        (MONGODUMP / "dir/collMod_ttl_index/mongodump_test_db/coll1.metadata.json").read_text()
    )
    assert [i.get("expireAfterSeconds") for i in ttl["indexes"]] == [None, 1000]
    users = archive_format.parse_metadata(
        (MONGODUMP / "dir/usersdump/admin/system.users.metadata.json").read_text()
    )
    assert users["indexes"][1]["unique"] is True


def test_directory_names_unescape_and_the_long_name_rule():
    assert urllib.parse.unquote_plus("caf%C3%A9s") == "cafés"
    metadata = archive_format.parse_metadata(Path(LONG_NAME.replace(".bson", ".metadata.json")).read_text())
    real = metadata["collectionName"]
    escaped = urllib.parse.quote_plus(real, safe="")
    digest = base64.urlsafe_b64encode(hashlib.sha1(real.encode()).digest()).rstrip(b"=").decode()  # noqa: S324
    assert Path(LONG_NAME).name == escaped[:208] + "%24" + digest + ".bson"


# -- round trips of every BSON type ------------------------------------------------------------------
def every_type_documents():
    """Documents covering every BSON type and the awkward values, encoded once by bson (the 'server')."""
    docs = [
        SON([("_id", ObjectId()), ("double", 1.5), ("nan", math.nan), ("negzero", -0.0), ("inf", -math.inf)]),
        {"_id": 2, "string": "héllo \u2603", "empty": "", "doc": {"a": {"b": [1, [2, [3, {"c": None}]]]}}},
        {"_id": 3, "array": [], "nested": [[], [[]], [{"x": [1.0, "two", None]}]]},
        {
            "_id": 4,
            **{
                f"bin{sub}": Binary(b"\x00\x01\xff" * 5, sub) for sub in (0, 1, 2, 3, 5, 6, 7, 8, 9, 128, 255)
            },
        },
        {
            "_id": 5,
            "uuid": Binary(uuid.uuid4().bytes, 4),
            "undefined-like": None,
            "bool": True,
            "false": False,
        },
        {"_id": 6, "date": DatetimeMS(-62135596800001), "regex": Regex("^a.*b$", "imsux")},
        {"_id": 7, "dbref": DBRef("coll", ObjectId(), "db", extra="field"), "code": Code("function(){}")},
        {"_id": 8, "codews": Code("return x", {"x": 1}), "int32": -(2**31), "ts": Timestamp(4294967295, 1)},
        {
            "_id": 9,
            "int64": Int64(2**63 - 1),
            "dec": Decimal128("-1.2345E-6000"),
            "decnan": Decimal128("NaN"),
        },
        {"_id": 10, "min": MinKey(), "max": MaxKey(), "symbol-as-string": "sym"},
    ]
    encoded = [bson.encode(doc) for doc in docs]
    # types bson cannot produce from Python values: undefined (0x06), symbol (0x0E), DBPointer (0x0C)
    undefined = b"\x06u\x00"
    symbol = b"\x0es\x00" + (4).to_bytes(4, "little") + b"sym\x00"
    pointer = b"\x0cp\x00" + (2).to_bytes(4, "little") + b"c\x00" + bytes(12)
    body = b"\x10_id\x00" + (11).to_bytes(4, "little") + undefined + symbol + pointer
    encoded.append((len(body) + 5).to_bytes(4, "little") + body + b"\x00")
    return encoded


def max_size_document(size: int = archive_format.MAX_DOCUMENT) -> bytes:
    """A document of exactly ``size`` bytes (16 MiB is the largest a reader must take)."""
    overhead = len(bson.encode({"_id": 1, "b": Binary(b"")}))
    doc = bson.encode({"_id": 1, "b": Binary(b"x" * (size - overhead))})
    assert len(doc) == size
    return doc


def collect(data: bytes):
    reader = open_archive(data)
    got = {}
    for event in reader.events():
        got.setdefault(event.entry.ns, [])
        got[event.entry.ns].extend(event.documents)
    return reader, got


@pytest.mark.parametrize("kind", ["none", "gzip", "zstd"])
def test_every_bson_type_round_trips_byte_for_byte(kind):
    docs = every_type_documents()
    entry = PreludeEntry("db", "types", archive_format.metadata_json({"indexes": []}), "collection")
    data = build([(entry, docs)], kind)
    reader, got = collect(data)
    assert got["db.types"] == docs
    options = CodecOptions(document_class=SON, datetime_conversion=DatetimeConversion.DATETIME_AUTO)
    decoded = [bson.decode(d, options) for d in got["db.types"]]
    assert math.isnan(decoded[0]["nan"]) and math.copysign(1, decoded[0]["negzero"]) == -1
    assert reader.totals[("db", "types")].crc == crc64(b"".join(docs))


def test_sixteen_mib_documents_round_trip_and_larger_ones_are_refused():
    big = max_size_document()
    entry = PreludeEntry("db", "big", "", "collection")
    data = build([(entry, [big, big[:0] or bson.encode({"_id": 2})])], "zstd")
    _unused, got = collect(data)
    assert got["db.big"][0] == big
    out = io.BytesIO()
    writer = ArchiveWriter(out)
    writer.write_prelude(ArchiveHeader("7.0.0", "t"), [entry])
    with pytest.raises(OffsiteError, match=re.escape("outside 5..16777216")):
        writer.namespace("db", "big").write(max_size_document(archive_format.MAX_DOCUMENT + 1))


def test_interleaved_namespaces_round_trip_and_pass_the_spec_walker():
    docs_a = [bson.encode({"_id": i, "a": "x" * i}) for i in range(50)]
    docs_b = [bson.encode({"_id": i, "b": i}) for i in range(30)]
    namespaces = [
        (
            PreludeEntry("admin", "system.users", "", "collection"),
            [bson.encode({"_id": "admin.u", "user": "u"})],
        ),
        (PreludeEntry("d", "a", archive_format.metadata_json({"indexes": []}), "collection"), docs_a),
        (PreludeEntry("d", "b", archive_format.metadata_json({"indexes": []}), "collection"), docs_b),
        (PreludeEntry("d", "empty", archive_format.metadata_json({"indexes": []}), "collection"), []),
    ]
    data = build(namespaces, interleave=True)
    report = walk(data)
    assert report["max_open"] == 3  # the empty namespace only shows up when it closes
    assert report["data_blocks"]["d.a"] > 1  # really interleaved
    _unused, got = collect(data)
    assert got["d.a"] == docs_a and got["d.b"] == docs_b and got["d.empty"] == []


def test_writer_output_passes_the_spec_checklist():
    view_meta = archive_format.metadata_json(
        {"options": {"viewOn": "a", "pipeline": []}, "indexes": [], "collectionName": "v", "type": "view"}
    )
    ts_meta = archive_format.metadata_json(
        {"options": {"timeseries": {"timeField": "t"}}, "indexes": [], "type": "timeseries"}
    )
    oplog = [bson.encode({"ts": Timestamp(1, i), "op": "n", "o": {}}) for i in range(3)]
    namespaces = [
        (
            PreludeEntry("admin", "system.version", "", "collection"),
            [bson.encode({"_id": "authSchema", "v": 5})],
        ),
        (
            PreludeEntry("d", "a", archive_format.metadata_json({"indexes": []}), "collection"),
            every_type_documents(),
        ),
        (PreludeEntry("d", "v", view_meta, "view"), []),
        (PreludeEntry("d", "ts", ts_meta, "timeseries"), [bson.encode({"_id": 1, "control": {}})]),
        (PreludeEntry("", "oplog", "", ""), oplog),
    ]
    for kind in ("none", "gzip", "zstd"):
        report = walk(build(namespaces, kind, server_version="6.0.3"))
        assert report["namespaces"]["d.system.buckets.ts"] == 1
        assert report["namespaces"][".oplog"] == 3
    report = walk(build(namespaces, server_version="8.3.0"))
    assert report["namespaces"]["d.ts"] == 1  # viewless timeseries from 8.3 on


def test_writer_refuses_what_would_break_mongorestore():
    entries = [PreludeEntry("d", name, "", "collection") for name in ("a", "b")] + [PreludeEntry("", "oplog")]
    writer = ArchiveWriter(io.BytesIO())
    with pytest.raises(OffsiteError, match=re.escape("not X.Y.Z")):
        writer.write_prelude(ArchiveHeader("unknown", "t"), entries)
    writer.write_prelude(ArchiveHeader("7.0.1", "t", concurrent_collections=1), entries)
    first = writer.namespace("d", "a")
    with pytest.raises(OffsiteError, match="concurrent_collections=1"):
        writer.namespace("d", "b")
    with pytest.raises(OffsiteError, match="not in the archive prelude"):
        writer.namespace("d", "zzz")
    first.close()
    with pytest.raises(OffsiteError, match="already written"):
        writer.namespace("d", "a")
    writer.namespace("", "oplog").close()
    with pytest.raises(OffsiteError, match="oplog must come last"):
        writer.namespace("d", "b")
    with pytest.raises(OffsiteError, match="never written"):
        writer.finish()


def test_writer_refuses_a_batch_that_is_not_whole_documents():
    writer = ArchiveWriter(io.BytesIO())
    writer.write_prelude(ArchiveHeader("7.0.1", "t"), [PreludeEntry("d", "a")])
    stream = writer.namespace("d", "a")
    with pytest.raises(OffsiteError, match=re.escape("bad BSON from the server for d.a")):
        stream.write(bson.encode({"a": 1})[:-1])


# -- corruption -------------------------------------------------------------------------------------
def small_archive() -> bytes:
    docs = [bson.encode({"_id": i, "v": "x" * 20}) for i in range(3)]
    return build(
        [(PreludeEntry("d", "a", archive_format.metadata_json({"indexes": []}), "collection"), docs)]
    )


def read_everything(data: bytes):
    reader = open_archive(data)
    return list(reader.events())


def test_every_truncation_is_detected():
    data = small_archive()
    read_everything(data)
    for cut in range(len(data)):
        with pytest.raises(OffsiteError) as caught:
            read_everything(data[:cut])
        assert "\n" not in str(caught.value)


def test_crc_mismatch_names_namespace_and_offset():
    data = bytearray(small_archive())
    position = data.index(b"x" * 20)
    data[position] = ord("y")
    with pytest.raises(ArchiveError, match=r"CRC mismatch") as caught:
        read_everything(bytes(data))
    assert caught.value.namespace == "d.a"
    assert caught.value.offset == bytes(data).rindex(b"\x02db\x00") - 4  # the EOF header


def test_bad_magic_and_trailing_bytes_and_doubled_terminators():
    data = small_archive()
    with pytest.raises(
        OffsiteError, match="corrupt or not a mongodump archive at byte 0: it starts with 00 e2 99 81"
    ):
        read_everything(b"\x00" + data[1:])
    with pytest.raises(ArchiveError, match="at byte 0: the archive magic"):
        ArchiveReader(io.BytesIO(b"\x00" + data[1:]))
    with pytest.raises(ArchiveError, match=f"at byte {len(data)}"):
        read_everything(data + b"\x00\x00\x00\x00")
    with pytest.raises(ArchiveError, match="consecutive terminators"):
        read_everything(data + archive_format.TERMINATOR)


def header(**fields) -> bytes:
    return bson.encode(SON(list(fields.items())))


def synthetic(body: bytes, entries=(("d", "a"),)) -> bytes:
    prelude = [ArchiveHeader("7.0.0", "t").to_bson()] + [PreludeEntry(db, c).to_bson() for db, c in entries]
    return archive_format.MAGIC + b"".join(prelude) + archive_format.TERMINATOR + body


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (header(db="d", collection="a", EOF=False, CRC=Int64(0), extra=1), "unknown key 'extra'"),
        (
            header(db="d", collection="a", EOF=True, CRC=0) + archive_format.TERMINATOR,
            "field CRC is not Int64",
        ),
        (header(db="d", collection="", EOF=False, CRC=Int64(0)), "missing its collection"),
        (
            header(db="d", collection="zz", EOF=False, CRC=Int64(0)),
            "in namespace d.zz: the namespace is not listed",
        ),
        (
            header(db="d", collection="a", EOF=True, CRC=Int64(0))
            + bson.encode({"x": 1})
            + archive_format.TERMINATOR,
            "a document inside an EOF block",
        ),
        (
            header(db="d", collection="a", EOF=True, CRC=Int64(0))
            + archive_format.TERMINATOR
            + header(db="d", collection="a", EOF=False, CRC=Int64(0))
            + archive_format.TERMINATOR,
            "already closed",
        ),
        (
            header(db="d", collection="a", EOF=False, CRC=Int64(0)) + archive_format.TERMINATOR,
            "never closed: d.a",
        ),
        (b"", "before these namespaces appear: d.a"),
        (b"\x04\x00\x00\x00", "length 4 is neither"),
        (
            header(db="d", collection="a", EOF=False, CRC=Int64(0))[:-1]
            + b"\x01"
            + archive_format.TERMINATOR,
            "null byte",
        ),
    ],
)
def test_framing_errors(body, message):
    with pytest.raises(ArchiveError, match=re.escape(message)) as caught:
        read_everything(synthetic(body))
    assert "\n" not in str(caught.value)


class _Trickle(io.RawIOBase):
    """A stream that returns at most ``step`` bytes a read, so documents straddle the reader's buffer."""

    def __init__(self, data: bytes, step: int) -> None:
        self.source, self.step = io.BytesIO(data), step

    def read(self, size: int = -1) -> bytes:
        return self.source.read(min(self.step, size) if size >= 0 else self.step)


@pytest.mark.parametrize("step", [4093, 65536, 1 << 20, 1 << 24])
def test_documents_straddling_reads_come_out_whole_with_the_same_crc_and_event_sizes(step):
    random = __import__("random").Random(7)
    docs = [bson.encode({"_id": i, "pad": "y" * random.randint(0, 70_000)}) for i in range(400)]
    entry = PreludeEntry("d", "a", archive_format.metadata_json({"indexes": []}), "collection")
    data = build([(entry, docs)])
    reader = ArchiveReader(_Trickle(data, step))
    events = [event for event in reader.events() if event.kind == "data"]
    assert [doc for event in events for doc in event.documents] == docs
    assert all(event.count == len(event.documents) for event in events)
    assert b"".join(run for event in events for run in event.runs) == b"".join(docs)
    assert all(sum(map(len, event.runs)) < EVENT_BYTES + 70_100 for event in events)
    assert (
        len(events) == -(-sum(map(len, docs)) // EVENT_BYTES) or step < 4096
    )  # full events, except at the end
    totals = reader.totals[("d", "a")]
    assert (totals.documents, totals.bytes, totals.crc) == (
        len(docs),
        sum(map(len, docs)),
        crc64(b"".join(docs)),
    )


def test_a_sixteen_mib_document_arrives_whole_from_a_stream_of_small_reads():
    """1 KiB reads, as a socket may give them (this took 12.6 s while each read rebuilt the buffer, 0.3 s now)."""
    big = max_size_document()
    entry = PreludeEntry("db", "big", "", "collection")
    data = build([(entry, [big])])
    source = _Trickle(data, 1024)
    reads = []
    original = source.read
    source.read = lambda size=-1: reads.append(size) or original(size)
    events = [event for event in ArchiveReader(source).events() if event.kind == "data"]
    assert [doc for event in events for doc in event.documents] == [big]
    assert len(reads) <= len(data) // 1024 + 8  # every read asked for what was still missing, no read twice


def test_a_data_event_carries_its_documents_as_a_few_runs_not_one_object_each():
    docs = [bson.encode({"_id": i}) for i in range(50_000)]
    entry = PreludeEntry("d", "small", "", "collection")
    events = [
        event for event in ArchiveReader(io.BytesIO(build([(entry, docs)]))).events() if event.kind == "data"
    ]
    assert sum(event.count for event in events) == len(docs)
    assert sum(len(event.runs) for event in events) <= 3  # one per buffer the block spans (1 MiB reads)
    assert [doc for event in events for doc in event.documents] == docs
