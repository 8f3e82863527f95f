"""The oplog window of a dump (``consistency: oplog``): the position before it, the entries written during it.

As ``mongodump --oplog`` does: remember the newest oplog entry before the first read, then copy every
entry from there to the newest one after the last read; if the start entry is gone, the oplog rolled
over during the dump and the dump fails (mongo-tools mongodump/oplog_dump.go).
"""

from __future__ import annotations

from typing import Any, Dict, Optional

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

    def __init__(self, client: Any) -> None:
        self.oplog = client.get_database("local", codec_options=RAW)["oplog.rs"]
        self.start: Optional[Timestamp] = None

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
                count += stream.write(batch)
        finally:
            cursor.close()
        if first is None:
            raise OffsiteError(
                f"the oplog rolled over during the dump (the start entry {self.start} is gone): make the oplog larger"
            )
        return {"first": timestamp_record(first), "last": timestamp_record(last), "count": count}
