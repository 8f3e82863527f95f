"""Raw documents for commands: byte for byte what RawBSONDocument gives, with a fallback if bson changes."""

from __future__ import annotations

import bson
import pytest
from bson.raw_bson import RawBSONDocument
from bson.son import SON

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
