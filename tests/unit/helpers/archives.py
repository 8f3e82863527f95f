"""Small archives written with the collection's own writer, for tests that need a real archive."""

from __future__ import annotations

import io
import random
from typing import Dict, List, Sequence, Tuple

import bson
from bson import Binary

from ansible_collections.offsite.mongodb.plugins.module_utils import compression
from ansible_collections.offsite.mongodb.plugins.module_utils.archive_format import (
    ArchiveHeader,
    PreludeEntry,
    metadata_json,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.archive_writer import ArchiveWriter
from ansible_collections.offsite.mongodb.plugins.module_utils.server_version import parse_archive_version

Namespaces = Sequence[Tuple[PreludeEntry, List[bytes]]]


def build(
    namespaces: Namespaces,
    compression_kind: str = "none",
    concurrent: int = 4,
    server_version: str = "7.0.12",
    interleave: bool = False,
) -> bytes:
    """Write ``[(PreludeEntry, [doc bytes])]`` with the collection's writer; returns the file bytes."""
    out = io.BytesIO()
    sink = compression.compressing_writer(out, compression_kind)
    writer = ArchiveWriter(sink)
    header = ArchiveHeader(
        server_version=server_version, tool_version="test", concurrent_collections=concurrent
    )
    writer.write_prelude(header, [entry for entry, _unused in namespaces])
    version = parse_archive_version(server_version)
    if interleave:
        streams = [(writer.namespace(e.db, e.data_collection(version)), docs) for e, docs in namespaces]
        for index in range(max(len(docs) for _unused, docs in namespaces)):
            for stream, docs in streams:
                if index < len(docs):
                    stream.write(docs[index])
        for stream, _unused in streams:
            stream.close()
    else:
        for entry, docs in namespaces:
            stream = writer.namespace(entry.db, entry.data_collection(version))
            for doc in docs:
                stream.write(doc)
            stream.close()
    writer.finish()
    sink.finish()
    return out.getvalue()


def small_archive(documents: Dict[str, int], compression_kind: str = "none") -> bytes:
    """An archive of ``{"db.collection": number of documents}`` with ``{_id: i}`` documents and no indexes."""
    namespaces = []
    for ns, count in documents.items():
        db, collection = ns.split(".", 1)
        entry = PreludeEntry(db, collection, metadata_json({"indexes": []}), "collection")
        namespaces.append((entry, [bson.encode({"_id": i}) for i in range(count)]))
    return build(namespaces, compression_kind)


def random_archive(approx_bytes: int, seed: int = 0, compression_kind: str = "none") -> bytes:
    """An archive of incompressible documents (one namespace, ``bulk.data``) of at least ``approx_bytes``."""
    rng = random.Random(seed)
    chunk = 256 * 1024
    docs = [
        bson.encode({"_id": i, "payload": Binary(rng.randbytes(chunk))})
        for i in range(max(1, -(-approx_bytes // chunk)))
    ]
    entry = PreludeEntry("bulk", "data", metadata_json({"indexes": []}), "collection")
    return build([(entry, docs)], compression_kind)
