"""mongo_restore_archive through ansible: dump -> restore round trips, the safety rules and corrupt archives."""

from __future__ import annotations

import datetime
import math

import bson
import pymongo
import pytest
from bson import Binary, Int64, ObjectId
from support.ansible_runner import run_module

from ansible_collections.offsite.mongodb.tests.unit.helpers.fixtures import MONGODUMP_FIXTURES

DATABASES = ("rsrc", "rdst", "rdst2")
# BSON types the nx-27017 stand-in keeps (see environment-notes.md); the rest are proven in tests/unit.
KEPT_TYPES = [
    {"_id": 1, "double": 2.5, "negzero": -0.0, "string": "héllo", "bool": True, "null": None},
    {"_id": 2, "int32": -(2**31), "int64": Int64(2**62), "oid": ObjectId("5f0000000000000000000001")},
    {"_id": 3, "date": datetime.datetime(2024, 2, 29, 12, 0, 0, 123000), "bin": Binary(b"\x00\xff" * 8, 0)},
    {"_id": 4, "nested": {"a": [1, [2, [3, {"b": None}]]]}, "empty": [], "emptydoc": {}},
]


@pytest.fixture
def client(mongo_uri):
    client = pymongo.MongoClient(mongo_uri)
    for name in DATABASES:
        client.drop_database(name)
    client.rsrc.types.insert_many(KEPT_TYPES)
    client.rsrc.big.insert_many([{"_id": i, "pad": "p" * (i % 300)} for i in range(4000)])
    client.rsrc.big.create_index("pad")
    yield client
    for name in DATABASES:
        client.drop_database(name)
    client.close()


@pytest.fixture
def dumped(mongo_uri, client, tmp_path):
    dest = tmp_path / "src.archive.zst"
    result = run_module(
        "mongo_dump_archive",
        {"uri": mongo_uri, "dest": str(dest), "databases": ["rsrc"], "compression": "zstd"},
    )
    assert result["changed"] is True, result["_stdout"]
    return dest, result


def restore(mongo_uri, src, check=False, **options):
    args = {"uri": mongo_uri, "src": str(src), "ns_from": ["rsrc.*"], "ns_to": ["rdst.*"], **options}
    return run_module("mongo_restore_archive", args, check=check)


def test_dump_then_restore_round_trips_documents_and_indexes(mongo_uri, client, dumped):
    src, dump = dumped
    result = restore(mongo_uri, src, sha256=dump["sha256"], insertion_workers=2)
    assert result["changed"] is True, result.get("msg")
    assert result["verified"] is True and result["counts_match"] is True
    assert result["sha256"] == dump["sha256"]
    assert {n["ns"]: (n["documents"], n["failed"]) for n in result["namespaces"]} == {
        "rdst.types": (4, 0),
        "rdst.big": (4000, 0),
    }
    assert result["documents"] == 4004
    raw = client.get_database(
        "rdst", codec_options=bson.CodecOptions(document_class=bson.raw_bson.RawBSONDocument)
    )
    restored = {doc["_id"]: doc.raw for doc in raw.types.find()}
    for doc in KEPT_TYPES:
        assert restored[doc["_id"]] == bson.encode(doc)  # byte for byte through dump and restore
    assert math.copysign(1, client.rdst.types.find_one({"_id": 1})["negzero"]) == -1
    assert "pad" in str([i["key"] for i in client.rdst.big.list_indexes()])


def test_non_empty_targets_fail_before_writing_and_drop_replaces(mongo_uri, client, dumped):
    src, _unused = dumped
    client.rdst.big.insert_one({"_id": "already here"})
    refused = restore(mongo_uri, src)
    assert refused["failed"] is True
    assert "already hold documents" in refused["msg"] and "rdst.big" in refused["msg"]
    assert "rdst.types" not in client.rdst.list_collection_names()  # nothing was written
    replaced = restore(mongo_uri, src, drop=True)
    assert replaced["counts_match"] is True and replaced["dropped"] == ["rdst.big"]
    assert client.rdst.big.count_documents({}) == 4000
    assert client.rdst.big.find_one({"_id": "already here"}) is None


def test_check_mode_verifies_and_lists_without_writing(mongo_uri, client, dumped):
    src, _unused = dumped
    result = restore(mongo_uri, src, check=True)
    assert result["verified"] is True and result["documents"] == 4004
    assert {n["ns"] for n in result["namespaces"]} == {"rdst.types", "rdst.big"}
    assert "rdst" not in client.list_database_names()


def test_include_exclude(mongo_uri, client, dumped):
    src, _unused = dumped
    result = restore(mongo_uri, src, exclude=["rsrc.big"])
    assert [n["ns"] for n in result["namespaces"]] == ["rdst.types"]
    assert "big" not in client.rdst.list_collection_names()


def test_wrong_sha256_fails_before_anything_is_written(mongo_uri, client, dumped):
    src, _unused = dumped
    result = restore(mongo_uri, src, sha256="0" * 64)
    assert result["failed"] is True and "is corrupt or not the archive meant" in result["msg"]
    assert "nothing was restored" in result["msg"]
    assert "rdst" not in client.list_database_names()


def test_corrupt_archive_names_namespace_and_offset_and_writes_nothing(mongo_uri, client, tmp_path):
    dest = tmp_path / "plain.archive"
    run_module(
        "mongo_dump_archive",
        {"uri": mongo_uri, "dest": str(dest), "databases": ["rsrc"], "compression": "none"},
    )
    data = bytearray(dest.read_bytes())
    position = data.rindex(b"p" * 299)
    data[position] ^= 0x01  # one bit inside the last document of rsrc.big
    broken = tmp_path / "broken.archive"
    broken.write_bytes(bytes(data))
    result = restore(mongo_uri, broken)
    assert result["failed"] is True
    assert "\n" not in result["msg"]
    assert (
        "corrupt archive at byte" in result["msg"] and "in namespace rsrc.big: CRC mismatch" in result["msg"]
    )
    assert "nothing was restored" in result["msg"]
    assert "rdst" not in client.list_database_names()  # verified whole before the first write
    truncated = tmp_path / "truncated.archive"
    truncated.write_bytes(bytes(dest.read_bytes()[:-10]))
    result = restore(mongo_uri, truncated, ns_to=["rdst2.*"])
    assert (
        result["failed"] is True
        and "truncated" in result["msg"]
        and "corrupt archive at byte" in result["msg"]
    )
    assert "rdst2" not in client.list_database_names()


def test_restore_of_a_real_mongodump_fixture(mongo_uri, client):
    fixture = MONGODUMP_FIXTURES / "archive" / "dump-w-oplog.archive"
    result = run_module(
        "mongo_restore_archive",
        {"uri": mongo_uri, "src": str(fixture), "ns_from": ["test.*"], "ns_to": ["rdst.*"]},
    )
    assert result["counts_match"] is True, result.get("msg")
    assert [(n["ns"], n["documents"]) for n in result["namespaces"]] == [("rdst.foo", 25)]
    assert client.rdst.foo.count_documents({}) == 25
