"""Raw documents for commands: byte for byte what RawBSONDocument gives, with a fallback if bson changes."""

from __future__ import annotations

import bson
import pytest
from bson.codec_options import DEFAULT_CODEC_OPTIONS
from bson.raw_bson import RawBSONDocument
from bson.son import SON
from pymongo import message as pymongo_message

from ansible_collections.offsite.mongodb.plugins.module_utils import raw_documents


@pytest.fixture(autouse=True)
def fresh_choice():
    raw_documents.document_type.cache_clear()
    yield
    raw_documents.document_type.cache_clear()


DOCUMENTS = [
    bson.encode({"_id": 1}),
    bson.encode(SON([("z", 1), ("a", {"nested": [1, 2.5, "x", None]}), ("b", bson.Binary(b"\0\1"))])),
    bson.encode({"_id": "x" * 70_000}),
]


def test_an_insert_command_encodes_exactly_as_with_raw_bson_documents():
    assert raw_documents.document_type() is raw_documents.RawBytes  # the fast path is in use with this bson
    ours = bson.encode(
        SON([("insert", "a"), ("documents", raw_documents.wrap(DOCUMENTS)), ("ordered", False)])
    )
    theirs = bson.encode(
        SON([("insert", "a"), ("documents", [RawBSONDocument(doc) for doc in DOCUMENTS]), ("ordered", False)])
    )
    assert ours == theirs
    assert bson.decode(ours)["documents"] == [bson.decode(doc) for doc in DOCUMENTS]


def test_a_bson_that_no_longer_recognises_raw_bytes_gets_raw_bson_documents(monkeypatch):
    monkeypatch.setattr(raw_documents.RawBytes, "_type_marker", 0)
    assert raw_documents.document_type() is RawBSONDocument
    wrapped = raw_documents.wrap(DOCUMENTS)
    assert all(isinstance(doc, RawBSONDocument) for doc in wrapped)
    assert [doc.raw for doc in wrapped] == DOCUMENTS


@pytest.fixture
def fresh_run_choice():
    raw_documents.runs_travel_whole.cache_clear()
    yield
    raw_documents.runs_travel_whole.cache_clear()


def sent(elements):
    """The OP_MSG pymongo builds for an insert of ``elements`` (its request id aside)."""
    command = SON([("insert", "a"), ("documents", elements), ("ordered", False)])
    message = pymongo_message._op_msg(0, command, "d", None, DEFAULT_CODEC_OPTIONS)[1]
    return message[:4] + message[8:]


def test_runs_reach_the_wire_exactly_as_their_documents_one_by_one(fresh_run_choice):
    assert raw_documents.runs_travel_whole()  # the fast path is in use with this pymongo
    runs = [b"".join(DOCUMENTS[:2]), DOCUMENTS[2]]
    wrapped = raw_documents.wrap_runs(runs)
    assert len(wrapped) == 2
    assert sent(wrapped) == sent([RawBSONDocument(doc) for doc in DOCUMENTS])


def test_a_pymongo_that_encodes_runs_differently_gets_the_documents_one_by_one(monkeypatch, fresh_run_choice):
    original = pymongo_message._op_msg

    def one_element_per_document(flags, command, *rest):
        command = SON(command)
        command["documents"] = [RawBSONDocument(doc.raw) for doc in command["documents"]]  # validates each
        return original(flags, command, *rest)

    monkeypatch.setattr(pymongo_message, "_op_msg", one_element_per_document)
    assert raw_documents.runs_travel_whole() is False
    wrapped = raw_documents.wrap_runs([b"".join(DOCUMENTS)])
    assert [doc.raw for doc in wrapped] == DOCUMENTS


def test_without_raw_bytes_runs_are_split_too(monkeypatch, fresh_run_choice):
    monkeypatch.setattr(raw_documents.RawBytes, "_type_marker", 0)
    assert raw_documents.runs_travel_whole() is False
    assert [doc.raw for doc in raw_documents.wrap_runs([b"".join(DOCUMENTS)])] == DOCUMENTS
