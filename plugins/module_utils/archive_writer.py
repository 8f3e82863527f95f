"""Writing mongodump archives: namespaces multiplexed into one stream, documents passed through raw.

Documents are the raw BSON the server sent, never decoded; each namespace's CRC-64/XZ is computed on
the way and written in its EOF block.
"""

from __future__ import annotations

import threading
from typing import Dict, List, Optional, Tuple

try:
    import bson
    from bson.int64 import Int64
    from bson.son import SON

    BSON_IMPORT_ERROR: Optional[str] = None
except ImportError as exc:  # pragma: no cover - exercised on hosts without pymongo
    bson = SON = None
    Int64 = int
    BSON_IMPORT_ERROR = str(exc)

from ansible_collections.offsite.mongodb.plugins.module_utils.archive_format import (
    MAGIC,
    MAX_DOCUMENT,
    MAX_OPLOG_DOCUMENT,
    TERMINATOR,
    ArchiveHeader,
    NamespaceTotals,
    PreludeEntry,
    iter_document_lengths,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.checksum import crc64, to_signed
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.namespaces import namespace_name
from ansible_collections.offsite.mongodb.plugins.module_utils.server_version import parse_archive_version
from ansible_collections.offsite.mongodb.plugins.module_utils.streams import Writable


class ArchiveWriter:
    """Writes an archive to ``out`` (anything with ``.write``); thread-safe across namespaces.

    ``write_prelude`` first, then one ``NamespaceWriter`` per namespace (several may be open at once,
    up to the header's ``concurrent_collections``), then ``finish``. Like mongodump's multiplexer, a
    namespace header is written only when the previous bytes belonged to another namespace.
    """

    def __init__(self, out: Writable) -> None:
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
        if parse_archive_version(header.server_version) is None:
            raise OffsiteError(
                f"server_version {header.server_version!r} is not X.Y.Z: mongorestore 100.16+ refuses such archives"
            )
        if header.concurrent_collections < 1:
            raise OffsiteError("concurrent_collections must be at least 1")
        version = parse_archive_version(header.server_version)
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
            count = sum(1 for _length in iter_document_lengths(batch, self._limit))
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
