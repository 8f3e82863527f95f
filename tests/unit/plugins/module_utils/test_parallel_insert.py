"""Parallel inserts: insert commands within the server's limits, counts from the replies, write concern failures."""

from __future__ import annotations

import bson
import pytest
from pymongo.errors import AutoReconnect
from pymongo.write_concern import WriteConcern

from ansible_collections.offsite.mongodb.plugins.module_utils import document_runs, parallel_insert
from ansible_collections.offsite.mongodb.plugins.module_utils.archive_format import PreludeEntry
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.parallel_insert import (
    ParallelInserter,
    insert_chunks,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.restore_plan import RestoreTarget


class Database:
    def __init__(self, replies):
        self.commands = []
        self.replies = replies

    def command(self, command):
        self.commands.append(command)
        return self.replies.pop(0) if self.replies else {"n": len(sent_documents(command)), "ok": 1.0}


def sent_documents(command):
    """The documents an insert command carries, whole runs split."""
    return document_runs.split([element.raw for element in command["documents"]])


class Client:
    def __init__(self, replies=()):
        self.database = Database(list(replies))

    def __getitem__(self, name):
        return self.database


def target():
    entry = PreludeEntry("d", "a", "", "collection")
    return RestoreTarget(entry=entry, source="d.a", ns="d.a", kind="collection", metadata={})


def sized(size, n=0):
    """A BSON document of exactly ``size`` bytes (at least 13)."""
    doc = bson.encode({"s": chr(97 + n) * (size - 13)})
    assert len(doc) == size
    return doc


def test_chunks_stay_within_the_size_and_count_limits_and_keep_the_order(monkeypatch):
    monkeypatch.setattr(parallel_insert, "INSERT_BYTES", 100)
    monkeypatch.setattr(parallel_insert, "INSERT_DOCUMENTS", 3)
    docs = [sized(size, n) for n, size in enumerate([40, 40, 40, 13, 13, 13, 13, 300, 20])]
    runs = [b"".join(docs[:4]), b"".join(docs[4:])]  # a run ends anywhere between two documents
    chunks = list(insert_chunks(runs, len(docs)))
    assert [doc for chunk, _count in chunks for doc in document_runs.split(chunk)] == docs
    assert [count for _chunk, count in chunks] == [2, 3, 2, 1, 1]  # 80 B; 3 documents; 26 B; 300 B alone
    assert all(count == len(document_runs.split(chunk)) for chunk, count in chunks)
    assert list(insert_chunks([], 0)) == []


def test_runs_within_the_limits_go_whole_without_being_split():
    docs = [bson.encode({"_id": n}) for n in range(10)]
    runs = [b"".join(docs[:6]), b"".join(docs[6:])]
    ((chunk, count),) = insert_chunks(runs, 10)
    assert count == 10 and len(chunk) == 2 and all(a is b for a, b in zip(chunk, runs))


def test_documents_go_as_unordered_raw_insert_commands_with_the_options():
    client = Client()
    inserter = ParallelInserter(client, workers=2, concern=WriteConcern(w="majority"), bypass=True)
    docs = [bson.encode({"_id": n}) for n in range(5)]
    into = target()
    inserter.submit(into, "a", [b"".join(docs[:3]), b"".join(docs[3:])], 5)
    inserter.wait()
    inserter.close()
    (command,) = client.database.commands
    assert list(command)[:3] == ["insert", "documents", "ordered"] and command["insert"] == "a"
    assert sent_documents(command) == docs and command["ordered"] is False
    assert command["bypassDocumentValidation"] is True and command["writeConcern"] == {"w": "majority"}
    assert (into.documents, into.failed) == (5, 0)


def test_rejected_documents_are_counted_and_the_rest_inserted():
    client = Client(
        [{"n": 3, "writeErrors": [{"index": 1, "code": 11000}, {"index": 4, "code": 11000}], "ok": 1.0}]
    )
    inserter = ParallelInserter(client, workers=1, concern=None, bypass=False)
    into = target()
    inserter.submit(into, "a", [b"".join(bson.encode({"_id": n}) for n in range(5))], 5)
    inserter.wait()
    assert (into.documents, into.failed) == (3, 2)
    assert "bypassDocumentValidation" not in client.database.commands[0]


def test_a_write_concern_error_fails_the_restore_in_one_line():
    reply = {
        "n": 2,
        "writeConcernError": {"code": 100, "errmsg": "waiting for replication\ntimed out"},
        "ok": 1.0,
    }
    inserter = ParallelInserter(
        Client([reply]), workers=1, concern=WriteConcern(w=3, wtimeout=10), bypass=False
    )
    inserter.submit(target(), "a", [bson.encode({"_id": n}) for n in range(2)], 2)
    with pytest.raises(
        OffsiteError,
        match=r"^the write concern failed while restoring d\.a: waiting for replication timed out$",
    ):
        inserter.wait()


class FlakyDatabase(Database):
    """Loses the connection ``losses`` times (after the server applied the first half of the chunk), then answers."""

    def __init__(self, losses, replies=()):
        super().__init__(list(replies))
        self.losses = losses

    def command(self, command):
        self.commands.append(command)
        if self.losses:
            self.losses -= 1
            raise AutoReconnect("connection closed")
        return self.replies.pop(0)


def inserted_through(database, docs):
    client = Client()
    client.database = database
    inserter = ParallelInserter(client, workers=1, concern=None, bypass=False)
    into = target()
    inserter.submit(into, "a", [b"".join(docs)], len(docs))  # one run
    try:
        inserter.wait()
    finally:
        inserter.close()
    return into


def test_a_lost_connection_resends_the_chunk_and_counts_the_lost_attempts_inserts_once(monkeypatch):
    monkeypatch.setattr(parallel_insert, "RETRY_PAUSE", 0)
    docs = [bson.encode({"_id": n}) for n in range(4)]
    # The lost attempt had inserted _id 0 and 1: the resend meets them as duplicates; _id 3 is refused.
    errors = [{"index": 0, "code": 11000}, {"index": 1, "code": 11000}, {"index": 3, "code": 121}]
    reply = {"n": 1, "ok": 1.0, "writeErrors": errors}
    into = inserted_through(FlakyDatabase(1, [reply]), docs)
    assert (into.documents, into.failed) == (3, 1)


def test_a_connection_lost_on_every_resend_fails_the_restore(monkeypatch):
    monkeypatch.setattr(parallel_insert, "RETRY_PAUSE", 0)
    database = FlakyDatabase(parallel_insert.RETRIES + 1)
    with pytest.raises(AutoReconnect, match="connection closed"):
        inserted_through(database, [bson.encode({"_id": 1})])
    assert len(database.commands) == parallel_insert.RETRIES + 1


def test_without_a_resend_duplicate_keys_are_failures(monkeypatch):
    reply = {"n": 1, "ok": 1.0, "writeErrors": [{"index": 0, "code": 11000}]}
    into = inserted_through(FlakyDatabase(0, [reply]), [bson.encode({"_id": n}) for n in range(2)])
    assert (into.documents, into.failed) == (1, 1)
