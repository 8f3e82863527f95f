"""The oplog window of a dump (``consistency: oplog``): the position before it, the entries written during it.

As ``mongodump --oplog`` does: remember the newest oplog entry before the first read, then copy every
entry from there to the newest one after the last read; if the start entry is gone, the oplog rolled
over during the dump and the dump fails (mongo-tools mongodump/oplog_dump.go).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

try:
    import bson
    from bson.timestamp import Timestamp
except (
    ImportError
):  # pragma: no cover - hosts without pymongo fail in mongo_connection.connect with a clear message
    bson = Timestamp = None

from ansible_collections.offsite.mongodb.plugins.module_utils.archive_format import (
    MAX_OPLOG_DOCUMENT,
    iter_document_lengths,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.archive_writer import NamespaceWriter
from ansible_collections.offsite.mongodb.plugins.module_utils.collection_reads import RAW
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError


def timestamp_record(ts: Timestamp) -> Dict[str, int]:
    return {"t": ts.time, "i": ts.inc}


class OplogCapture:
    """The oplog window of a dump: position before it, entries written during it."""

    def __init__(self, client: Any, databases: Sequence[str] = ()) -> None:
        self.oplog = client.get_database("local", codec_options=RAW)["oplog.rs"]
        self.start: Optional[Timestamp] = None
        self.databases = frozenset(databases)  # a dump of some databases keeps only their entries

    def last_timestamp(self, where: str) -> Timestamp:
        doc = self.oplog.find_one({}, sort=[("$natural", -1)], projection={"ts": 1})
        ts = doc["ts"] if doc is not None else None
        if not isinstance(ts, Timestamp):
            raise OffsiteError(
                f"consistency=oplog needs a replica-set member with an oplog: {where} has no entries in local.oplog.rs"
            )
        return ts

    def begin(self, where: str) -> Timestamp:
        self.start = self.last_timestamp(where)
        return self.start

    def write(self, stream: NamespaceWriter, where: str) -> Dict[str, Any]:
        """Append the entries from the start position to now; fails if the oplog rolled over meanwhile."""
        end = self.last_timestamp(where)
        first: Optional[Timestamp] = None
        last: Optional[Timestamp] = None
        count = 0
        cursor = self.oplog.find_raw_batches({"ts": {"$gte": self.start, "$lte": end}})
        try:
            for batch in cursor:
                lengths = list(iter_document_lengths(batch, MAX_OPLOG_DOCUMENT))
                if first is None:
                    first = bson.decode(batch[: lengths[0]])["ts"]
                    if first != self.start:
                        raise OffsiteError(
                            f"the oplog rolled over during the dump (its oldest entry is past the start {self.start}): "
                            "make the oplog larger or dump less at a time"
                        )
                last = bson.decode(batch[sum(lengths[:-1]) :])["ts"]
                count += stream.write(self._selected(batch, lengths))
        finally:
            cursor.close()
        if first is None:
            raise OffsiteError(
                f"the oplog rolled over during the dump (the start entry {self.start} is gone): make the oplog larger"
            )
        return {"first": timestamp_record(first), "last": timestamp_record(last), "count": count}

    def _selected(self, batch: bytes, lengths: List[int]) -> bytes:
        """The batch, or for a dump of some databases only the entries that touch them.

        A restore replays every entry of the archive's oplog: entries of databases the archive does
        not hold would fail there (their collections do not exist) or write data nobody asked for.
        """
        if not self.databases:
            return batch
        kept, offset = [], 0
        for length in lengths:
            raw = batch[offset : offset + length]
            offset += length
            if self._touches(bson.decode(raw)):
                kept.append(raw)
        return b"".join(kept)

    def _touches(self, entry: Dict[str, Any]) -> bool:
        database = str(entry.get("ns", "")).partition(".")[0]
        if database in self.databases:
            return True
        nested = (entry.get("o") or {}).get("applyOps") if entry.get("op") == "c" else None
        return isinstance(nested, list) and any(self._touches(op) for op in nested)
