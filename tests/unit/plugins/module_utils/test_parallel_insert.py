"""Parallel inserts: insert commands within the server's limits, counts from the replies, write concern failures."""

from __future__ import annotations

import bson
import pytest
from pymongo.errors import AutoReconnect
from pymongo.write_concern import WriteConcern

from ansible_collections.offsite.mongodb.plugins.module_utils import parallel_insert
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
        return self.replies.pop(0) if self.replies else {"n": len(command["documents"]), "ok": 1.0}


class Client:
    def __init__(self, replies=()):
        self.database = Database(list(replies))

    def __getitem__(self, name):
        return self.database


def target():
    entry = PreludeEntry("d", "a", "", "collection")
    return RestoreTarget(entry=entry, source="d.a", ns="d.a", kind="collection", metadata={})


def test_chunks_stay_within_the_size_and_count_limits_and_keep_the_order(monkeypatch):
    monkeypatch.setattr(parallel_insert, "INSERT_BYTES", 100)
    monkeypatch.setattr(parallel_insert, "INSERT_DOCUMENTS", 3)
    docs = [bytes([n]) * size for n, size in enumerate([40, 40, 40, 10, 10, 10, 10, 300, 5])]
    chunks = list(insert_chunks(docs))
    assert [doc for chunk in chunks for doc in chunk] == docs
    assert [len(chunk) for chunk in chunks] == [2, 3, 2, 1, 1]  # 80 B; 3 documents; 20 B; the 300 B one alone
    assert list(insert_chunks([])) == []


def test_documents_go_as_unordered_raw_insert_commands_with_the_options():
    client = Client()
    inserter = ParallelInserter(client, workers=2, concern=WriteConcern(w="majority"), bypass=True)
    docs = [bson.encode({"_id": n}) for n in range(5)]
    into = target()
    inserter.submit(into, "a", docs)
    inserter.wait()
    inserter.close()
    (command,) = client.database.commands
    assert list(command)[:3] == ["insert", "documents", "ordered"] and command["insert"] == "a"
    assert [doc.raw for doc in command["documents"]] == docs and command["ordered"] is False
    assert command["bypassDocumentValidation"] is True and command["writeConcern"] == {"w": "majority"}
    assert (into.documents, into.failed) == (5, 0)


def test_rejected_documents_are_counted_and_the_rest_inserted():
    client = Client(
        [{"n": 3, "writeErrors": [{"index": 1, "code": 11000}, {"index": 4, "code": 11000}], "ok": 1.0}]
    )
    inserter = ParallelInserter(client, workers=1, concern=None, bypass=False)
    into = target()
    inserter.submit(into, "a", [bson.encode({"_id": n}) for n in range(5)])
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
    inserter.submit(target(), "a", [bson.encode({"_id": n}) for n in range(2)])
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
    inserter.submit(into, "a", docs)
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
