"""mongodump's ``--archive`` format: its constants, prelude and header documents, and shared checks.

The layout is ``MAGIC, prelude block (header + one entry per namespace + TERM), body blocks`` where
each body block is a namespace header, documents and ``TERM``; a namespace ends with an EOF block
carrying the CRC-64/XZ of all its document bytes. ``archive_writer`` and ``archive_reader`` build on
this file. See docs/docsite/rst/archive-format.rst.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Optional, Tuple

try:
    import bson
    from bson import json_util
    from bson.int64 import Int64
    from bson.son import SON

except ImportError:  # pragma: no cover - exercised on hosts without pymongo
    bson = json_util = SON = None
    Int64 = int

from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.namespaces import (
    namespace_name,
    timeseries_data_collection,
)

MAGIC = b"\x6d\xe2\x99\x81"
TERMINATOR = b"\xff\xff\xff\xff"
MAX_DOCUMENT = 16 * 1024 * 1024
MAX_OPLOG_DOCUMENT = MAX_DOCUMENT + 16 * 1024
FORMAT_VERSION = "0.1"
OPLOG_COLLECTION = "oplog"
HEADER_TYPES = {"db": str, "collection": str, "EOF": bool, "CRC": Int64}
LENGTH_PREFIX = struct.Struct("<I")  # a BSON document's leading int32, read unsigned as the checks want


class ArchiveError(OffsiteError):
    """A corrupt or unreadable archive: names the byte offset and, when known, the namespace."""

    def __init__(self, problem: str, offset: int, namespace: Optional[str] = None) -> None:
        where = f"at byte {offset}" + (f" in namespace {namespace}" if namespace else "")
        super().__init__(
            f"corrupt archive {where}: {problem}; the archive is damaged or not a mongodump archive, "
            "restore another backup"
        )
        self.offset = offset
        self.namespace = namespace


@dataclass
class ArchiveHeader:
    """The first prelude document."""

    server_version: str
    tool_version: str
    concurrent_collections: int = 4
    version: str = FORMAT_VERSION

    def to_bson(self) -> bytes:
        doc = SON(
            [
                ("concurrent_collections", int(self.concurrent_collections)),
                ("version", self.version),
                ("server_version", self.server_version),
                ("tool_version", self.tool_version),
            ]
        )
        return bson.encode(doc)


@dataclass
class PreludeEntry:
    """One namespace the body holds, with its metadata.json text."""

    db: str
    collection: str
    metadata: str = ""
    type: str = ""
    size: int = 0
    offset: int = 0  # where the entry sits in the archive (reader only)

    @property
    def ns(self) -> str:
        return namespace_name(self.db, self.collection)

    @property
    def is_oplog(self) -> bool:
        return self.db == "" and self.collection == OPLOG_COLLECTION

    def to_bson(self) -> bytes:
        doc = SON(
            [
                ("db", self.db),
                ("collection", self.collection),
                ("metadata", self.metadata),
                ("size", int(self.size)),
                ("type", self.type),
            ]
        )
        return bson.encode(doc)

    def data_collection(self, server_version: Optional[Tuple[int, int, int]]) -> str:
        """The collection name the body uses for this entry (timeseries buckets before 8.3)."""
        if self.type == "timeseries":
            return timeseries_data_collection(self.collection, server_version)
        return self.collection

    def parsed_metadata(self) -> Dict[str, Any]:
        """The metadata JSON as a document (``{}`` when empty); bad JSON is an ``ArchiveError``."""
        return parse_metadata(self.metadata, self.offset, self.ns)


def parse_metadata(text: str, offset: int = 0, ns: Optional[str] = None) -> Dict[str, Any]:
    """A metadata.json text (canonical or legacy dialect) as an ordered document; ``{}`` when blank."""
    if not text.strip():
        return {}
    try:
        value = json_util.loads(text, json_options=json_util.JSONOptions(document_class=SON))
    except (ValueError, TypeError, bson.errors.BSONError) as exc:
        problem = " ".join(str(exc).split())[:200]
        raise ArchiveError(f"the metadata JSON is invalid ({problem})", offset, ns) from None
    if not isinstance(value, dict):
        raise ArchiveError("the metadata JSON is not an object", offset, ns)
    return value


def metadata_json(metadata: Dict[str, Any]) -> str:
    """Canonical Extended JSON, compact, raw UTF-8: the text mongodump 100.x writes."""
    return json_util.dumps(
        metadata, json_options=json_util.CANONICAL_JSON_OPTIONS, separators=(",", ":"), ensure_ascii=False
    )


def scan_documents(data: bytes, limit: int = MAX_DOCUMENT, lengths: Optional[List[int]] = None) -> int:
    """How many whole BSON documents ``data`` concatenates (their lengths appended to ``lengths`` when given).

    Raises ``ValueError`` on bad framing. One tight loop per batch: the dump runs it on every byte it writes.
    """
    unpack = LENGTH_PREFIX.unpack_from
    total = len(data)
    pos = count = 0
    while pos < total:
        if total - pos < 5:
            raise ValueError(f"{total - pos} trailing bytes are not a document")
        (length,) = unpack(data, pos)
        if length < 5 or length > limit:
            raise ValueError(f"document length {length} is outside 5..{limit}")
        pos += length
        if pos > total:
            raise ValueError("a document runs past the end of the batch")
        if data[pos - 1]:
            raise ValueError("a document does not end with a null byte")
        if lengths is not None:
            lengths.append(length)
        count += 1
    return count


def iter_document_lengths(data: bytes, limit: int = MAX_DOCUMENT) -> Iterator[int]:
    """Lengths of the concatenated BSON documents in ``data``; raises ``ValueError`` on bad framing."""
    lengths: List[int] = []
    scan_documents(data, limit, lengths)
    return iter(lengths)


@dataclass
class NamespaceTotals:
    """What was written or read for one namespace."""

    db: str
    collection: str
    documents: int = 0
    bytes: int = 0
    crc: int = 0
    closed: bool = False

    @property
    def ns(self) -> str:
        return namespace_name(self.db, self.collection)
