"""mongo_dump_archive through ansible against the MongoDB test server (nx-27017 unless a real one is given)."""

from __future__ import annotations

import hashlib
import io
import os
import stat
from pathlib import Path

import bson
import pymongo
import pytest
from support.ansible_runner import run_module

from ansible_collections.offsite.mongodb.plugins.module_utils import archive_reader, compression
from ansible_collections.offsite.mongodb.tests.unit.helpers import archive_spec as spec_walker


@pytest.fixture
def shop(mongo_uri):
    client = pymongo.MongoClient(mongo_uri)
    for name in ("dumpshop", "dumphr"):
        client.drop_database(name)
    client.dumpshop.orders.insert_many([{"_id": i, "n": i, "s": "x" * (i % 40)} for i in range(3000)])
    client.dumpshop.orders.create_index("n")
    client.dumpshop.customers.insert_many([{"_id": i, "name": f"c{i}"} for i in range(20)])
    client.dumphr.people.insert_many([{"_id": i, "year": 2000 + i} for i in range(10)])
    yield client
    for name in ("dumpshop", "dumphr"):
        client.drop_database(name)
    client.close()


def archive_documents(path: Path):
    stream, kind = compression.decompressing_reader(io.BytesIO(path.read_bytes()))
    reader = archive_reader.ArchiveReader(stream)
    docs = {}
    for event in reader.events():
        docs.setdefault(event.entry.ns, []).extend(event.documents)
    return kind, reader, docs


@pytest.mark.parametrize("kind", ["gzip", "zstd", "none"])
def test_dump_writes_a_private_verified_archive(mongo_uri, shop, tmp_path, kind):
    dest = tmp_path / "backup.archive"
    result = run_module(
        "mongo_dump_archive",
        {"uri": mongo_uri, "dest": str(dest), "compression": kind, "include": ["dumpshop.*", "dumphr.*"]},
    )
    assert result.get("failed") is not True, result["_stdout"]
    assert result["changed"] is True
    assert stat.S_IMODE(os.stat(dest).st_mode) == 0o600
    assert result["sha256"] == hashlib.sha256(dest.read_bytes()).hexdigest()
    assert result["size"] == dest.stat().st_size
    assert (tmp_path / "backup.archive.sha256").read_text().startswith(result["sha256"])
    assert result["compression"] == kind and result["engine"] == "native"
    counts = {item["ns"]: item["documents"] for item in result["namespaces"]}
    assert counts == {"dumpshop.orders": 3000, "dumpshop.customers": 20, "dumphr.people": 10}
    assert result["documents"] == 3030
    assert result["oplog"] is None
    assert result["started_at"].endswith("Z") and result["duration_seconds"] >= 0
    detected, reader, docs = archive_documents(dest)
    assert detected == kind
    assert docs["dumpshop.orders"][5] == bson.encode({"_id": 5, "n": 5, "s": "xxxxx"})
    assert [i["name"] for i in reader.metadata["dumpshop.orders"]["indexes"]] == ["_id_", "idx_orders_n"]
    spec_walker.walk(dest.read_bytes())
    assert not list(tmp_path.glob(".*partial"))


def test_rerun_is_idempotent_and_force_rewrites(mongo_uri, shop, tmp_path):
    args = {"uri": mongo_uri, "dest": str(tmp_path / "a.archive"), "databases": ["dumphr"]}
    first = run_module("mongo_dump_archive", args)
    second = run_module("mongo_dump_archive", args)
    assert first["changed"] is True and second["changed"] is False
    assert second["sha256"] == first["sha256"]
    forced = run_module("mongo_dump_archive", {**args, "force": True})
    assert forced["changed"] is True
    (tmp_path / "other").write_text("not an archive")
    refused = run_module("mongo_dump_archive", {**args, "dest": str(tmp_path / "other")})
    assert refused["failed"] is True and "set force: true" in refused["msg"]


def test_query_and_exclude(mongo_uri, shop, tmp_path):
    dest = tmp_path / "q.archive"
    result = run_module(
        "mongo_dump_archive",
        {
            "uri": mongo_uri,
            "dest": str(dest),
            "databases": ["dumpshop", "dumphr"],
            "exclude": ["dumpshop.customers"],
            "query": {"dumphr.people": '{"year": {"$gte": 2005}}'},
        },
    )
    counts = {item["ns"]: item["documents"] for item in result["namespaces"]}
    assert counts == {"dumpshop.orders": 3000, "dumphr.people": 5}


def test_check_mode_reports_the_plan_without_writing(mongo_uri, shop, tmp_path):
    dest = tmp_path / "never.archive"
    result = run_module(
        "mongo_dump_archive", {"uri": mongo_uri, "dest": str(dest), "databases": ["dumpshop"]}, check=True
    )
    assert result["changed"] is True and result["estimated"] is True
    assert {item["ns"]: item["documents"] for item in result["namespaces"]} == {
        "dumpshop.orders": 3000,
        "dumpshop.customers": 20,
    }
    assert not dest.exists() and not list(tmp_path.iterdir())


def test_unsupported_consistency_fails_with_one_line(mongo_uri, shop, tmp_path):
    result = run_module(
        "mongo_dump_archive", {"uri": mongo_uri, "dest": str(tmp_path / "x"), "consistency": "oplog"}
    )
    assert result["failed"] is True
    assert result["msg"].startswith("consistency=oplog needs a replica-set member: ")
    assert not (tmp_path / "x").exists()


def test_engine_mongodump_without_the_tools_says_how_to_fix(mongo_uri, tmp_path):
    result = run_module(
        "mongo_dump_archive",
        {
            "uri": mongo_uri,
            "dest": str(tmp_path / "x"),
            "engine": "mongodump",
            "mongodump_path": str(tmp_path / "no"),
        },
    )
    assert result["failed"] is True and "use engine native" in result["msg"]
