"""Reading mongodump archives: the prelude, then data and EOF events per namespace, every check on the way.

Framing, BSON lengths, namespace headers and each namespace's CRC-64/XZ are checked as the bytes
arrive; any inconsistency is an ``ArchiveError`` naming the byte offset and the namespace.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional, Tuple

try:
    import bson
except ImportError:  # pragma: no cover - exercised on hosts without pymongo
    bson = None

from ansible_collections.offsite.mongodb.plugins.module_utils import document_runs
from ansible_collections.offsite.mongodb.plugins.module_utils.archive_format import (
    HEADER_TYPES,
    LENGTH_PREFIX,
    MAGIC,
    MAX_DOCUMENT,
    MAX_OPLOG_DOCUMENT,
    TERMINATOR,
    ArchiveError,
    ArchiveHeader,
    NamespaceTotals,
    PreludeEntry,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.checksum import crc64, to_unsigned
from ansible_collections.offsite.mongodb.plugins.module_utils.namespaces import namespace_name
from ansible_collections.offsite.mongodb.plugins.module_utils.server_version import parse_archive_version
from ansible_collections.offsite.mongodb.plugins.module_utils.streams import Readable

READ_CHUNK = 1 << 20
_LENGTH = LENGTH_PREFIX.unpack_from  # a document's length prefix, read in place
_TERMINATOR_LENGTH = int.from_bytes(TERMINATOR, "little")
EVENT_BYTES = 4 << 20  # a data event carries at most about this many document bytes


@dataclass
class ArchiveEvent:
    """What the reader found: documents of a namespace (``data``) or its end (``eof``).

    A data event carries its ``count`` documents as ``runs``: whole documents back to back, framing
    checked (see ``document_runs``). ``documents`` splits them, for callers that want them one by one.
    """

    kind: str  # data | eof
    entry: PreludeEntry
    offset: int
    runs: List[bytes] = field(default_factory=list)
    count: int = 0
    totals: Optional[NamespaceTotals] = None

    @property
    def documents(self) -> List[bytes]:
        return document_runs.split(self.runs)


class ArchiveReader:
    """Reads an archive from ``stream`` (anything with ``.read(n)``), checking framing and CRCs.

    ``header`` and ``entries`` are read on construction; iterate ``events()`` for the body.
    """

    def __init__(self, stream: Readable, parse_metadata: bool = True) -> None:
        self._stream = stream
        self._data = b""
        self._pos = 0
        self._base = 0  # stream offset of self._data[0]
        self._eof = False
        magic = self._take(4)
        if magic != MAGIC:
            raise ArchiveError(f"the archive magic 6d e2 99 81 is missing (found {magic.hex(' ')})", 0)
        self.header = self._read_header()
        self.version = parse_archive_version(self.header.server_version)
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

    def data_namespace(self, entry: PreludeEntry) -> str:
        """The namespace the body uses for ``entry`` (its data collection, e.g. timeseries buckets)."""
        return namespace_name(entry.db, entry.data_collection(self.version))

    # -- low level -----------------------------------------------------------------------------
    @property
    def offset(self) -> int:
        return self._base + self._pos

    def _fill(self, size: int) -> bool:
        """Make ``size`` bytes available from the current position; False at end of stream."""
        have = len(self._data) - self._pos
        if have >= size:
            return True
        # Gather the reads, then join once: a stream that returns little at a time (a socket, a slow
        # decompressor) must not make a large document cost a copy of the buffer per read.
        pieces = [self._data[self._pos :]] if have else []
        while have < size and not self._eof:
            chunk = self._stream.read(max(READ_CHUNK, size - have))
            if not chunk:
                self._eof = True
                break
            pieces.append(chunk)
            have += len(chunk)
        self._base += self._pos
        self._data = pieces[0] if len(pieces) == 1 else b"".join(pieces)
        self._pos = 0
        return have >= size

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
    def events(self) -> Iterator[ArchiveEvent]:
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
                yield ArchiveEvent("eof", entry, offset, totals=totals)
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

    def _buffered_run(self, limit: int, ns: str, room: int) -> Tuple[bytes, int, bool]:
        """The whole documents already in the buffer (about ``room`` bytes at most) as one run, how many
        they are, and whether a terminator ended them.

        The same checks as ``_document``, in one loop over the buffer, without a slice per document. A
        document that is not wholly buffered is left for ``_document``, which reads on (or says where the
        stream is cut).
        """
        data, pos = self._data, self._pos
        end, start = len(data), pos
        last = min(end - 4, start + room - 1)  # the last position where a length prefix is read
        count = 0
        terminated = False
        while pos <= last:
            (length,) = _LENGTH(data, pos)
            if not 5 <= length <= limit:
                if length == _TERMINATOR_LENGTH:
                    terminated = True
                    break
                self._pos = pos
                raise ArchiveError(
                    f"length {length} is neither a valid BSON length nor a terminator", self._base + pos, ns
                )
            after = pos + length
            if after > end:
                break
            if data[after - 1]:
                self._pos = pos
                raise ArchiveError("a document does not end with a null byte", self._base + pos, ns)
            pos = after
            count += 1
        self._pos = pos + 4 if terminated else pos
        return data[start:pos], count, terminated

    def _data_block(self, entry: PreludeEntry, totals: NamespaceTotals, ns: str) -> Iterator[ArchiveEvent]:
        limit = MAX_OPLOG_DOCUMENT if entry.is_oplog else MAX_DOCUMENT
        runs: List[bytes] = []
        count = pending = 0
        start = self.offset
        while True:
            run, found, terminated = self._buffered_run(limit, ns, EVENT_BYTES - pending)
            if not found and not terminated:  # the next document is not wholly buffered: read on, one
                doc = self._document(limit, ns)
                terminated = doc is None
                run, found = (doc, 1) if doc is not None else (b"", 0)
            if found:
                totals.crc = crc64(run, totals.crc)
                runs.append(run)
                count += found
                pending += len(run)
                totals.documents += found
                totals.bytes += len(run)
            if terminated:
                break
            if pending >= EVENT_BYTES:
                yield ArchiveEvent("data", entry, start, runs, count, totals)
                runs, count, pending, start = [], 0, 0, self.offset
        if runs:
            yield ArchiveEvent("data", entry, start, runs, count, totals)


def read_all(stream: Readable, parse_metadata: bool = True) -> Tuple[ArchiveReader, List[NamespaceTotals]]:
    """Read a whole archive (every check included) and return the reader and per-namespace totals."""
    reader = ArchiveReader(stream, parse_metadata=parse_metadata)
    for _event in reader.events():
        pass
    return reader, list(reader.totals.values())
