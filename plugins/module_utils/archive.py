"""mongodump's ``--archive`` format: a writer that multiplexes namespaces and a reader that demultiplexes.

Bytes only: documents pass through as the raw BSON the server sent, never decoded. The layout is
``MAGIC, prelude block (header + one entry per namespace + TERM), body blocks`` where each body block
is a namespace header, documents and ``TERM``; a namespace ends with an EOF block carrying the CRC-64/XZ
of all its document bytes. See docs/archive-format.md and mongodump-formats.md.
"""

from __future__ import annotations

import struct
import threading
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional, Tuple

try:
    import bson
    from bson import json_util
    from bson.int64 import Int64
    from bson.son import SON

    BSON_IMPORT_ERROR: Optional[str] = None
except ImportError as exc:  # pragma: no cover - exercised on hosts without pymongo
    bson = json_util = SON = None
    Int64 = int
    BSON_IMPORT_ERROR = str(exc)

from ansible_collections.offsite.mongodb.plugins.module_utils.checksum import crc64, to_signed, to_unsigned
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError

MAGIC = b"\x6d\xe2\x99\x81"
TERMINATOR = b"\xff\xff\xff\xff"
MAX_DOCUMENT = 16 * 1024 * 1024
MAX_OPLOG_DOCUMENT = MAX_DOCUMENT + 16 * 1024
FORMAT_VERSION = "0.1"
OPLOG_COLLECTION = "oplog"
VIEWLESS_TIMESERIES = (8, 3, 0)
HEADER_TYPES = {"db": str, "collection": str, "EOF": bool, "CRC": Int64}
READ_CHUNK = 1 << 20
EVENT_BYTES = 4 << 20  # a data event carries at most about this many document bytes
_LENGTH = struct.Struct("<I")  # a BSON document's leading int32, read unsigned as the checks want


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


def parse_server_version(text: str) -> Optional[Tuple[int, int, int]]:
    """``server_version`` as mongorestore parses it (cut at ``-`` and ``+``, three integers) or None."""
    core = str(text).split("-", 1)[0].split("+", 1)[0]
    parts = core.split(".")
    if len(parts) != 3 or not all(part.isdigit() for part in parts):
        return None
    return int(parts[0]), int(parts[1]), int(parts[2])


def namespace_name(db: str, collection: str) -> str:
    """``db.collection``; the oplog (db ``""``) is ``.oplog`` as in mongodump."""
    return f"{db}.{collection}"


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
        if self.type == "timeseries" and (server_version is None or server_version < VIEWLESS_TIMESERIES):
            return f"system.buckets.{self.collection}"
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
    unpack = _LENGTH.unpack_from
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


class ArchiveWriter:
    """Writes an archive to ``out`` (anything with ``.write``); thread-safe across namespaces.

    ``write_prelude`` first, then one ``NamespaceWriter`` per namespace (several may be open at once,
    up to the header's ``concurrent_collections``), then ``finish``. Like mongodump's multiplexer, a
    namespace header is written only when the previous bytes belonged to another namespace.
    """

    def __init__(self, out: Any) -> None:
        self._out = out
        self._lock = threading.Lock()
        self._current: Optional[Tuple[str, str]] = None
        self._declared: Dict[Tuple[str, str], PreludeEntry] = {}
        self._state: Dict[Tuple[str, str], NamespaceTotals] = {}
        self._open: Dict[Tuple[str, str], bool] = {}  # key -> a data block was written
        self._limit = 1
        self._oplog_started = False
        self.bytes_written = 0

    def _emit(self, *chunks: bytes) -> None:
        for chunk in chunks:
            self._out.write(chunk)
            self.bytes_written += len(chunk)

    def write_prelude(self, header: ArchiveHeader, entries: List[PreludeEntry]) -> None:
        """Magic, header, one entry per namespace, terminator."""
        if parse_server_version(header.server_version) is None:
            raise OffsiteError(
                f"server_version {header.server_version!r} is not X.Y.Z: mongorestore 100.16+ refuses such archives"
            )
        if header.concurrent_collections < 1:
            raise OffsiteError("concurrent_collections must be at least 1")
        version = parse_server_version(header.server_version)
        for entry in entries:
            key = (entry.db, entry.data_collection(version))
            if key in self._declared:
                raise OffsiteError(f"namespace {entry.ns} is listed twice in the archive prelude")
            self._declared[key] = entry
        self._limit = header.concurrent_collections
        with self._lock:
            self._emit(MAGIC, header.to_bson(), *[entry.to_bson() for entry in entries], TERMINATOR)

    def namespace(self, db: str, collection: str) -> NamespaceWriter:
        """Open the body namespace ``db.collection`` (the physical, data collection name)."""
        key = (db, collection)
        with self._lock:
            if key not in self._declared:
                raise OffsiteError(
                    f"namespace {namespace_name(db, collection)} is not in the archive prelude"
                )
            if key in self._state:
                raise OffsiteError(f"namespace {namespace_name(db, collection)} was already written")
            if self._oplog_started:
                raise OffsiteError("no namespace may start after the oplog: the oplog must come last")
            is_oplog = self._declared[key].is_oplog
            if is_oplog and self._open:
                raise OffsiteError("the oplog may only start once every other namespace is closed")
            if len(self._open) >= self._limit:
                raise OffsiteError(
                    f"more than concurrent_collections={self._limit} namespaces open at once "
                    "(mongorestore would deadlock)"
                )
            self._oplog_started = is_oplog
            self._state[key] = NamespaceTotals(db, collection)
            self._open[key] = False
        return NamespaceWriter(self, key, MAX_OPLOG_DOCUMENT if is_oplog else MAX_DOCUMENT)

    def _header(self, key: Tuple[str, str], eof: bool, crc: int) -> bytes:
        return bson.encode(
            SON([("db", key[0]), ("collection", key[1]), ("EOF", eof), ("CRC", Int64(to_signed(crc)))])
        )

    def _write_data(self, key: Tuple[str, str], data: bytes) -> None:
        with self._lock:
            if self._current != key:
                if self._current is not None:
                    self._emit(TERMINATOR)
                self._emit(self._header(key, False, 0))
                self._current = key
                self._open[key] = True
            self._emit(data)

    def _close(self, key: Tuple[str, str], crc: int) -> None:
        with self._lock:
            if self._current is not None:
                self._emit(TERMINATOR)
                self._current = None
            if not self._open[key]:  # every namespace gets a data block, even an empty one
                self._emit(self._header(key, False, 0), TERMINATOR)
            self._emit(self._header(key, True, crc), TERMINATOR)
            del self._open[key]
            self._state[key].closed = True

    def finish(self) -> List[NamespaceTotals]:
        """Check that every declared namespace was written and closed; nothing follows the last block."""
        with self._lock:
            missing = [namespace_name(*key) for key in self._declared if key not in self._state]
            unclosed = [namespace_name(*key) for key in self._open]
        if missing or unclosed:
            raise OffsiteError(
                f"archive incomplete: namespaces never written {missing}, never closed {unclosed}"
            )
        return list(self._state.values())


class NamespaceWriter:
    """Feeds one namespace: ``write`` batches of whole raw BSON documents, then ``close``."""

    def __init__(self, archive: ArchiveWriter, key: Tuple[str, str], limit: int) -> None:
        self._archive = archive
        self._key = key
        self._limit = limit
        self.totals = archive._state[key]

    def write(self, batch: bytes) -> int:
        """Append a batch (concatenated documents); returns how many documents it held."""
        if self.totals.closed:
            raise OffsiteError(f"namespace {self.totals.ns} is closed")
        if not batch:
            return 0
        try:
            count = scan_documents(batch, self._limit)
        except ValueError as exc:
            raise OffsiteError(f"bad BSON from the server for {self.totals.ns}: {exc}") from None
        self.totals.crc = crc64(batch, self.totals.crc)
        self.totals.documents += count
        self.totals.bytes += len(batch)
        self._archive._write_data(self._key, batch)
        return count

    def close(self) -> NamespaceTotals:
        """Write the EOF block with the namespace's CRC."""
        if not self.totals.closed:
            self._archive._close(self._key, self.totals.crc)
        return self.totals


@dataclass
class Event:
    """What the reader found: documents of a namespace (``data``) or its end (``eof``)."""

    kind: str  # data | eof
    entry: PreludeEntry
    offset: int
    documents: List[bytes] = field(default_factory=list)
    totals: Optional[NamespaceTotals] = None


class ArchiveReader:
    """Reads an archive from ``stream`` (anything with ``.read(n)``), checking framing and CRCs.

    ``header`` and ``entries`` are read on construction; iterate ``events()`` for the body.
    """

    def __init__(self, stream: Any, parse_metadata: bool = True) -> None:
        self._stream = stream
        self._data = b""
        self._pos = 0
        self._base = 0  # stream offset of self._data[0]
        self._eof = False
        magic = self._take(4)
        if magic != MAGIC:
            raise ArchiveError(f"the archive magic 6d e2 99 81 is missing (found {magic.hex(' ')})", 0)
        self.header = self._read_header()
        self.version = parse_server_version(self.header.server_version)
        self.entries: List[PreludeEntry] = []
        while True:
            offset = self.offset
            doc = self._document(MAX_DOCUMENT, None)
            if doc is None:
                break
            self.entries.append(self._prelude_entry(doc, offset))
        self.metadata: Dict[str, Dict[str, Any]] = {}
        if parse_metadata:
            for entry in self.entries:
                self.metadata[entry.ns] = entry.parsed_metadata()
        self._by_key: Dict[Tuple[str, str], PreludeEntry] = {}
        for entry in self.entries:
            self._by_key[(entry.db, entry.data_collection(self.version))] = entry
        self.totals: Dict[Tuple[str, str], NamespaceTotals] = {}

    # -- low level -----------------------------------------------------------------------------
    @property
    def offset(self) -> int:
        return self._base + self._pos

    def _fill(self, size: int) -> bool:
        """Make ``size`` bytes available from the current position; False at end of stream."""
        while len(self._data) - self._pos < size:
            if self._eof:
                return False
            chunk = self._stream.read(max(READ_CHUNK, size))
            if not chunk:
                self._eof = True
                continue
            self._base += self._pos
            self._data = self._data[self._pos :] + chunk
            self._pos = 0
        return True

    def _take(self, size: int) -> bytes:
        if not self._fill(size):
            have = len(self._data) - self._pos
            raise ArchiveError(f"the stream ends after {have} of {size} bytes (truncated)", self.offset)
        data = self._data[self._pos : self._pos + size]
        self._pos += size
        return data

    def _at_end(self) -> bool:
        return not self._fill(1)

    def _document(self, limit: int, ns: Optional[str]) -> Optional[bytes]:
        """The next document, or None for a terminator."""
        offset = self.offset
        if not self._fill(4):
            raise ArchiveError(
                "the stream ends where a document or terminator should be (truncated)", offset, ns
            )
        prefix = self._data[self._pos : self._pos + 4]
        if prefix == TERMINATOR:
            self._pos += 4
            return None
        length = int.from_bytes(prefix, "little")
        if length < 5 or length > limit:
            raise ArchiveError(f"length {length} is neither a valid BSON length nor a terminator", offset, ns)
        if not self._fill(length):
            raise ArchiveError(f"the stream ends inside a {length}-byte document (truncated)", offset, ns)
        doc = self._data[self._pos : self._pos + length]
        if doc[-1] != 0:
            raise ArchiveError("a document does not end with a null byte", offset, ns)
        self._pos += length
        return doc

    def _decode(self, doc: bytes, offset: int, ns: Optional[str], what: str) -> Dict[str, Any]:
        try:
            return bson.decode(doc)
        except (bson.errors.BSONError, ValueError, TypeError) as exc:
            raise ArchiveError(f"the {what} is not valid BSON ({exc})", offset, ns) from None

    def _read_header(self) -> ArchiveHeader:
        offset = self.offset
        doc = self._document(MAX_DOCUMENT, None)
        if doc is None:
            raise ArchiveError("the prelude has no header document", offset)
        fields = self._decode(doc, offset, None, "archive header")
        concurrent = fields.get("concurrent_collections", 1)
        if not isinstance(concurrent, int) or isinstance(concurrent, bool):
            raise ArchiveError("concurrent_collections is not an integer", offset)
        return ArchiveHeader(
            server_version=str(fields.get("server_version", "")),
            tool_version=str(fields.get("tool_version", "")),
            concurrent_collections=int(concurrent),
            version=str(fields.get("version", "")),
        )

    def _prelude_entry(self, doc: bytes, offset: int) -> PreludeEntry:
        fields = self._decode(doc, offset, None, "prelude entry")
        for key in ("db", "collection", "metadata", "type"):
            if not isinstance(fields.get(key, ""), str):
                raise ArchiveError(f"prelude field {key} is not a string", offset)
        entry = PreludeEntry(
            db=fields.get("db", ""),
            collection=fields.get("collection", ""),
            metadata=fields.get("metadata", ""),
            type=fields.get("type", ""),
            size=int(fields.get("size", 0) or 0),
            offset=offset,
        )
        if not entry.collection:
            raise ArchiveError("a prelude entry has no collection name", offset)
        return entry

    def _namespace_header(self, doc: bytes, offset: int) -> Tuple[str, str, bool, int]:
        fields = self._decode(doc, offset, None, "namespace header")
        for key, value in fields.items():
            expected = HEADER_TYPES.get(key)
            if expected is None:
                raise ArchiveError(f"namespace header has the unknown key {key!r}", offset)
            if not isinstance(value, expected) or (expected is not bool and isinstance(value, bool)):
                raise ArchiveError(f"namespace header field {key} is not {expected.__name__}", offset)
        db, collection = fields.get("db", ""), fields.get("collection", "")
        if not collection:
            raise ArchiveError("a namespace header is missing its collection", offset)
        return db, collection, bool(fields.get("EOF", False)), to_unsigned(int(fields.get("CRC", 0)))

    # -- body ----------------------------------------------------------------------------------
    def events(self) -> Iterator[Event]:
        """Data and EOF events in archive order; raises ``ArchiveError`` on any inconsistency."""
        while not self._at_end():
            offset = self.offset
            doc = self._document(MAX_DOCUMENT, None)
            if doc is None:
                raise ArchiveError("a block starts with a terminator (consecutive terminators)", offset)
            db, collection, eof, crc = self._namespace_header(doc, offset)
            key = (db, collection)
            ns = namespace_name(db, collection)
            entry = self._by_key.get(key)
            if entry is None:
                raise ArchiveError("the namespace is not listed in the prelude", offset, ns)
            totals = self.totals.get(key)
            if totals is None:
                totals = self.totals[key] = NamespaceTotals(db, collection)
            elif totals.closed:
                raise ArchiveError("a header for a namespace that was already closed", offset, ns)
            if eof:
                after = self.offset
                if self._document(MAX_DOCUMENT, ns) is not None:
                    raise ArchiveError("a document inside an EOF block", after, ns)
                if crc != totals.crc:
                    raise ArchiveError(
                        f"CRC mismatch: the archive says {crc:016x}, the data gives {totals.crc:016x}",
                        offset,
                        ns,
                    )
                totals.closed = True
                yield Event("eof", entry, offset, totals=totals)
                continue
            yield from self._data_block(entry, totals, ns)
        unfinished = sorted(t.ns for t in self.totals.values() if not t.closed)
        if unfinished:
            raise ArchiveError(
                f"the archive ends with namespaces never closed: {', '.join(unfinished)}", self.offset
            )
        unseen = sorted(namespace_name(*key) for key in self._by_key if key not in self.totals)
        if unseen:
            raise ArchiveError(
                f"the archive ends before these namespaces appear: {', '.join(unseen)}", self.offset
            )

    def _data_block(self, entry: PreludeEntry, totals: NamespaceTotals, ns: str) -> Iterator[Event]:
        limit = MAX_OPLOG_DOCUMENT if entry.is_oplog else MAX_DOCUMENT
        documents: List[bytes] = []
        pending = 0
        start = self.offset
        crc = totals.crc
        while True:
            doc = self._document(limit, ns)
            if doc is None:
                break
            crc = crc64(doc, crc)
            documents.append(doc)
            pending += len(doc)
            totals.documents += 1
            totals.bytes += len(doc)
            if pending >= EVENT_BYTES:
                totals.crc = crc
                yield Event("data", entry, start, documents, totals)
                documents, pending, start = [], 0, self.offset
        totals.crc = crc
        if documents:
            yield Event("data", entry, start, documents, totals)


def read_all(stream: Any, parse_metadata: bool = True) -> Tuple[ArchiveReader, List[NamespaceTotals]]:
    """Read a whole archive (every check included) and return the reader and per-namespace totals."""
    reader = ArchiveReader(stream, parse_metadata=parse_metadata)
    for _event in reader.events():
        pass
    return reader, list(reader.totals.values())
