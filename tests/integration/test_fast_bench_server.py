"""The benchmarks' fast in-memory MongoDB server: it serves what it promises and a dump round-trips through it."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pymongo
import pytest
from bson import SON

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from ansible_collections.offsite.mongodb.plugins.module_utils import (  # noqa: E402
    archive_format,
    collection_reads,
    dump,
    restore,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.dump_plan import DumpNamespace  # noqa: E402
from bench.dataset import Layout, generate  # noqa: E402
from bench.fast_server import fast_server  # noqa: E402

MIB = 4
OPTIONS = ("--databases", "fa,fb", "--large", "2", "--small", "3", "--batch-mib", "1")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with fast_server(tmp_path_factory.mktemp("fast"), MIB, *OPTIONS) as (uri, _pid):
        client = pymongo.MongoClient(uri)
        yield client
        client.close()


def expected():
    """(documents, bytes) per namespace, computed here from the same generator the server uses."""
    layout = Layout(MIB << 20, databases=("fa", "fb"), large=2, small=3)
    totals = {}
    for db, name, docs in generate(layout):
        sizes = [len(doc) for doc in docs]
        totals[f"{db}.{name}"] = (len(sizes), sum(sizes))
    return totals


def test_raw_reads_return_the_promised_documents_and_bytes(server):
    promised = expected()
    assert sorted(server.list_database_names()) == ["fa", "fb"]
    got = {}
    for db in ("fa", "fb"):
        database = server[db]
        for name in database.list_collection_names():
            batches = list(database[name].find_raw_batches())
            documents = sum(len(list(archive_format.iter_document_lengths(batch))) for batch in batches)
            got[f"{db}.{name}"] = (documents, sum(len(batch) for batch in batches))
            assert database[name].estimated_document_count() == documents
    assert got == promised
    assert len(batches) > 1  # getMore was exercised: 101 documents first, then 1 MiB batches


def test_batch_size_is_honoured_as_mongod_honours_it(server):
    promised = expected()
    collection = server.fa.large_0
    batches = list(collection.find_raw_batches(batch_size=7))
    sizes = [len(list(archive_format.iter_document_lengths(batch))) for batch in batches]
    assert sizes[:-1] == [7] * (len(sizes) - 1) and 0 < sizes[-1] <= 7
    assert (sum(sizes), sum(len(batch) for batch in batches)) == promised["fa.large_0"]
    whole = b"".join(collection.find_raw_batches())
    assert b"".join(batches) == whole  # the same documents in the same order


@pytest.mark.parametrize("raw_arrays", [True, False], ids=["raw arrays", "documents joined"])
@pytest.mark.parametrize("batch_size", [None, 3])
def test_the_dump_reads_the_same_bytes_as_find_raw_batches(server, monkeypatch, raw_arrays, batch_size):
    if not raw_arrays:  # a pymongo without bson's raw arrays: replies are joined document by document
        monkeypatch.setattr(collection_reads, "RAW_ARRAYS", None)
    assert collection_reads.one_server(server)
    reader = collection_reads.CollectionReader(server)
    for name in ("large_0", "small_00"):
        item = DumpNamespace("fa", name, "collection", {}, name)
        read = list(reader.batches(item, batch_size))
        expected = list(
            server.fa[name].find_raw_batches(**({"batch_size": batch_size} if batch_size else {}))
        )
        assert read == expected and read
        assert len(read) > 1 or name != "large_0"  # getMore was exercised
    # with raw arrays: find and getMore commands in one explicit session; without: find_raw_batches
    assert reader._sessions is (True if raw_arrays else None)
    command = SON([("find", "large_0"), ("filter", {}), ("batchSize", 5)])
    by_command = list(collection_reads.command_cursor_batches(server, "fa", command))  # snapshot reads' path
    assert by_command == list(server.fa.large_0.find_raw_batches(batch_size=5))


def test_dump_archive_round_trips_the_counts(server):
    promised = expected()
    sink = io.BytesIO()
    report = dump.dump_archive(server, sink, dump.DumpPlan(databases=["fa", "fb"], compression="gzip"))
    assert {item.ns: (item.documents, item.bytes) for item in report.namespaces} == promised

    sink.seek(0)
    plan = restore.RestorePlan(ns_from=["f*.*"], ns_to=["restored_f*.*"], drop=True)
    restored = restore.restore_archive(server, sink, plan)
    inserted = server.admin.command("serverStatus")["fastBench"]["inserted"]
    assert restored.documents == sum(count for count, _size in promised.values())
    assert inserted == {f"restored_{ns}": count for ns, (count, _size) in promised.items()}


def test_unsupported_requests_fail_loudly(server):
    with pytest.raises(pymongo.errors.OperationFailure, match="only an empty filter"):
        server.fa.large_0.find_one({"_id": 1})


def test_a_read_left_early_kills_its_cursor(server):
    before = server.admin.command("serverStatus")["fastBench"]["commands"].get("killCursors", 0)
    reader = collection_reads.CollectionReader(server)
    batches = reader.batches(DumpNamespace("fa", "large_0", "collection", {}, "large_0"), 3)
    assert next(batches)
    batches.close()
    assert server.admin.command("serverStatus")["fastBench"]["commands"].get("killCursors", 0) == before + 1
