"""One oplog archiving run: the entries a set wrote since the last archived position, up to the majority
commit point, streamed into one new slice of the catalog (object first, manifest last).

Where a run starts: after the newest slice; when that position is gone (the oplog rolled over past it,
or a rollback removed or rewrote it) after the newest ``consistency: oplog`` backup ending later; on a
set's first run after the newest such backup, else at the current majority point. A position that is
gone and no newer base means entries were lost: the run records a gap marker and fails in one line
(take a new base backup). Only majority-committed entries are archived (the bound is the commit point
from ``replSetGetStatus``, else ``hello``), so a rollback cannot take back what a slice holds. Memory
stays bounded (the batches of one cursor go through the compressor into a multipart upload); nothing
touches local disk. A killed run leaves an unfinished upload or a folder without manifest: both are
invisible to restores and removed by the next run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Dict, List, Optional, Tuple

try:
    import bson
    from bson.codec_options import CodecOptions
    from bson.raw_bson import RawBSONDocument
    from bson.timestamp import Timestamp
    from pymongo.errors import OperationFailure
except ImportError:  # pragma: no cover - hosts without pymongo fail in mongo_connection.connect
    bson = CodecOptions = RawBSONDocument = Timestamp = None
    OperationFailure = Exception

from ansible_collections.offsite.mongodb.plugins.module_utils.archive_format import (
    MAX_OPLOG_DOCUMENT,
    iter_document_lengths,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.compression import (
    check_level,
    compressing_writer,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.oplog_catalog import (
    OplogCatalog,
    OplogListing,
    folder_keys,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.oplog_slices import (
    Slice,
    build_gap,
    build_slice_manifest,
    elections,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.oplog_time import OplogTime, from_timestamp
from ansible_collections.offsite.mongodb.plugins.module_utils.oplog_windows import Base
from ansible_collections.offsite.mongodb.plugins.module_utils.times import format_time, utc_now

NEW_BASE = "take a new base backup (backup_consistency=oplog); the next run continues from its end"


@dataclass
class Position:
    """Where a run may continue from, and what vouches for it."""

    point: OplogTime
    term: Optional[int]
    source: str  # "slice" or "backup <id>"


@dataclass
class ArchiveReport:
    """What one run did (or, in check mode, would do)."""

    set_name: str
    changed: bool = False
    start: Optional[Dict[str, Any]] = None
    slice: Optional[Dict[str, Any]] = None
    position: Optional[Dict[str, Any]] = None
    majority: Optional[Dict[str, Any]] = None
    lag_seconds: Optional[float] = None
    cleaned_folders: List[str] = field(default_factory=list)
    aborted_uploads: List[str] = field(default_factory=list)
    duration_seconds: float = 0.0

    def to_result(self) -> Dict[str, Any]:
        return dict(self.__dict__)


def _ts(point: OplogTime) -> Any:
    return Timestamp(point.secs, point.inc)


def majority_point(client: Any) -> Tuple[OplogTime, Dict[str, Any]]:
    """(the majority commit point, bounded by what this member has written; the hello reply)."""
    hello = client.admin.command("hello")
    if not hello.get("setName"):
        raise OffsiteError(
            "oplog archiving needs a replica-set member: the node has no replica set (a standalone or mongos)"
        )
    committed = None
    try:
        status = client.admin.command("replSetGetStatus")
        committed = ((status.get("optimes") or {}).get("lastCommittedOpTime") or {}).get("ts")
    except OperationFailure:
        committed = None  # not allowed to the user: hello says it too
    if not isinstance(committed, Timestamp):
        committed = ((hello.get("lastWrite") or {}).get("majorityOpTime") or {}).get("ts")
    if not isinstance(committed, Timestamp):
        raise OffsiteError(
            "the node reports no majority commit point (replSetGetStatus optimes.lastCommittedOpTime or hello "
            "lastWrite.majorityOpTime): connect to a data-bearing replica-set member"
        )
    point = from_timestamp(committed)
    applied = ((hello.get("lastWrite") or {}).get("opTime") or {}).get("ts")
    if isinstance(applied, Timestamp) and from_timestamp(applied) < point:
        point = from_timestamp(applied)  # a secondary that has not applied up to the commit point yet
    return point, hello


class OplogReader:
    """The node's ``local.oplog.rs``: ends, lookups, raw batches."""

    def __init__(self, client: Any) -> None:
        self.decoded = client.local["oplog.rs"]
        self.raw = client.get_database("local", codec_options=CodecOptions(document_class=RawBSONDocument))[
            "oplog.rs"
        ]

    def end(self, newest: bool, query: Optional[Dict[str, Any]] = None) -> Optional[Dict[str, Any]]:
        return self.decoded.find_one(
            query or {}, sort=[("$natural", -1 if newest else 1)], projection={"ts": 1, "t": 1}
        )

    def entry_at(self, point: OplogTime) -> Optional[Dict[str, Any]]:
        return self.decoded.find_one({"ts": _ts(point)}, projection={"ts": 1, "t": 1})

    def problem_at(self, position: Position) -> Optional[Tuple[str, str]]:
        """None when the oplog still holds ``position`` as archived; else (reason, one-line why)."""
        oldest = self.end(newest=False)
        if oldest is None or from_timestamp(oldest["ts"]) > position.point:
            start = from_timestamp(oldest["ts"]).describe() if oldest else "nothing"
            return "rollover", (
                f"the oplog rolled over past the last archived position {position.point.describe()} "
                f"({position.source}; the oldest entry now is {start})"
            )
        entry = self.entry_at(position.point)
        if entry is None:
            return "rollback", (
                f"the entry at the last archived position {position.point.describe()} ({position.source}) is no "
                "longer in the oplog: a rollback took it back"
            )
        term = entry.get("t")
        if position.term is not None and term is not None and int(term) != position.term:
            return "rollback", (
                f"the entry at the last archived position {position.point.describe()} now has term {int(term)}, "
                f"archived with term {position.term}: a rollback rewrote it"
            )
        return None


class _SliceWriter:
    """Counts, bounds and term changes of the entries as their batches go by."""

    def __init__(self, sink: Any) -> None:
        self.sink = sink
        self.count = 0
        self.raw_size = 0
        self.first: Optional[OplogTime] = None
        self.last: Optional[OplogTime] = None
        self.term_first: Optional[int] = None
        self.term_last: Optional[int] = None
        self.changes: List[Dict[str, Any]] = []

    def _note_terms(
        self, batch: bytes, lengths: List[int], first_term: Optional[int], last_term: Optional[int]
    ) -> None:
        if first_term == self.term_last and last_term == self.term_last:
            return
        offset = 0
        for length in lengths:
            entry = bson.decode(batch[offset : offset + length])
            term = int(entry["t"]) if entry.get("t") is not None else None
            if term != self.term_last:
                if self.count or offset:
                    self.changes.append(
                        {"term": term if term is not None else -1, "first": from_timestamp(entry["ts"])}
                    )
                self.term_last = term
            offset += length

    def write(self, batch: bytes) -> None:
        lengths = list(iter_document_lengths(batch, MAX_OPLOG_DOCUMENT))
        if not lengths:
            return
        head = bson.decode(batch[: lengths[0]])
        tail = bson.decode(batch[len(batch) - lengths[-1] :])
        if self.first is None:
            self.first = from_timestamp(head["ts"])
            self.term_first = self.term_last = int(head["t"]) if head.get("t") is not None else None
        self._note_terms(
            batch, lengths, int(head["t"]) if head.get("t") is not None else None,
            int(tail["t"]) if tail.get("t") is not None else None,
        )  # fmt: skip
        self.last = from_timestamp(tail["ts"])
        self.count += len(lengths)
        self.raw_size += len(batch)
        self.sink.write(batch)


def _positions(newest: Optional[Slice], bases: List[Base]) -> List[Position]:
    """Where a run may continue from, in order of preference."""
    found = []
    if newest is not None:
        found.append(Position(newest.last, newest.term_last, f"slice {newest.first.name}-{newest.last.name}"))
    later = [b for b in bases if newest is None or b.end > newest.last]
    if later:
        base = max(later, key=lambda b: b.end)
        found.append(Position(base.end, None, f"backup {base.backup_id}"))
    return found


def _clean_up(oplog: OplogCatalog, listing: OplogListing, started: datetime, report: ArchiveReport,
              check_only: bool) -> None:  # fmt: skip
    """Remove what killed runs left: folders without a manifest, unfinished uploads begun earlier."""
    report.cleaned_folders = listing.incomplete
    uploads = oplog.stale_uploads(started)
    report.aborted_uploads = [u["Key"] for u in uploads]
    if check_only:
        return
    if report.cleaned_folders:
        oplog.delete([], folder_keys(listing, report.cleaned_folders))
    oplog.catalog.abort_uploads(uploads)


class _EndMoved(Exception):
    """The newest entry read is not at the majority point (no entry there): archive up to it instead."""

    def __init__(self, last: OplogTime) -> None:
        super().__init__(last.describe())
        self.last = last


@dataclass
class _Range:
    """An open cursor over the entries after a position, up to the majority point, its first batch read."""

    cursor: Any = None
    pending: bytes = b""
    first: Optional[OplogTime] = None
    mismatch: bool = False


def _open_range(reader: OplogReader, position: Optional[Position], majority: OplogTime) -> _Range:
    """One query from the position itself (``$gte``): its entry must come first, with its term; then the new ones.

    This checks the position without a lookup of its own; only a mismatch costs the queries that say why.
    """
    low = position.point if position is not None else majority
    cursor = reader.raw.find_raw_batches({"ts": {"$gte": _ts(low), "$lte": _ts(majority)}})
    checked = position is None
    for received in cursor:
        batch = received
        if not checked:
            length = int.from_bytes(batch[:4], "little")
            head = bson.decode(batch[:length])
            term = head.get("t")
            if from_timestamp(head["ts"]) != position.point or (
                position.term is not None and term is not None and int(term) != position.term
            ):
                cursor.close()
                return _Range(mismatch=True)
            batch = batch[length:]
            checked = True
        if batch:
            length = int.from_bytes(batch[:4], "little")
            return _Range(cursor, batch, from_timestamp(bson.decode(batch[:length])["ts"]))
    cursor.close()
    return _Range(mismatch=not checked)


def _choose_start(reader: OplogReader, positions: List[Position], majority: OplogTime
                  ) -> Tuple[Optional[Position], _Range, List[Tuple[str, str]]]:  # fmt: skip
    """The first position the oplog still holds as archived, with its open range; the problems of the others."""
    problems: List[Tuple[str, str]] = []
    for candidate in positions:
        opened = _open_range(reader, candidate, majority)
        if not opened.mismatch:
            return candidate, opened, problems
        problems.append(reader.problem_at(candidate) or ("rollback", (
            f"the oplog no longer starts its range with the entry at the last archived position "
            f"{candidate.point.describe()} ({candidate.source})"
        )))  # fmt: skip
    if positions:
        return None, _Range(mismatch=True), problems
    return None, _open_range(reader, None, majority), problems


def archive_oplog(client: Any, oplog: OplogCatalog, *, compression: str = "zstd",
                  compression_level: Optional[int] = None, check_only: bool = False,
                  now: Optional[datetime] = None) -> ArchiveReport:  # fmt: skip
    """One run: archive the majority-committed entries since the last position as one slice."""
    check_level(compression, compression_level)
    clock, started = time.monotonic(), now or utc_now()
    majority, hello = majority_point(client)
    report = ArchiveReport(set_name=oplog.set_name, majority=majority.summary())
    if hello["setName"] != oplog.set_name:
        raise OffsiteError(
            f"the node belongs to replica set {hello['setName']}, not set_name {oplog.set_name}: "
            "give the set's name, or leave set_name empty"
        )
    listing = oplog.list()
    _clean_up(oplog, listing, started, report, check_only)
    reader = OplogReader(client)
    positions = _positions(oplog.newest_slice(listing), oplog.bases(listing))
    for _attempt in range(2):
        position, opened, problems = _choose_start(reader, positions, majority)
        if positions and position is None:
            _record_gap(oplog, reader, positions[0], problems[0], majority=majority, check_only=check_only)
        after = position.point if position is not None else None
        report.start = {
            "after": after.summary() if after else None,
            "from": position.source if position else "majority point",
        }
        if opened.first is None:
            report.position = after.summary() if after else None
            report.lag_seconds = _lag(after, started)
            report.changed = bool(report.cleaned_folders or report.aborted_uploads) and not check_only
            report.duration_seconds = round(time.monotonic() - clock, 3)
            return report
        if check_only:
            opened.cursor.close()
            query = {"$gte": _ts(opened.first), "$lte": _ts(majority)}
            count = reader.decoded.count_documents({"ts": query})
            report.slice = {"first": opened.first.summary(), "last": majority.summary(), "count": count,
                            "after": report.start["after"]}  # fmt: skip
            report.changed = True
            report.position = majority.summary()
            report.lag_seconds = _lag(majority, started)
            return report
        try:
            report.slice = _write_slice(
                oplog, opened, majority, after=after, compression=compression, level=compression_level,
                hello=hello, started=started,
            )  # fmt: skip
        except _EndMoved as moved:
            majority = (
                moved.last
            )  # nothing at the commit point itself: archive up to the newest entry before it
            continue
        report.changed = True
        report.position = report.slice["last"]
        report.lag_seconds = _lag(majority, utc_now())
        report.duration_seconds = round(time.monotonic() - clock, 3)
        return report
    raise OffsiteError("the oplog kept changing below the majority commit point during the run: run again")


def _lag(point: Optional[OplogTime], now: datetime) -> Optional[float]:
    return None if point is None else max(0.0, round(now.timestamp() - point.secs, 3))


def _record_gap(oplog: OplogCatalog, reader: OplogReader, position: Position, problem: Tuple[str, str], *,
                majority: OplogTime, check_only: bool) -> None:  # fmt: skip
    """Record the break once (a later run finding the same break adds nothing) and fail."""
    reason, why = problem
    oldest = reader.end(newest=False)
    resume = from_timestamp(oldest["ts"]) if reason == "rollover" and oldest else majority
    known = [g for g in oplog.gaps(oplog.list(with_bases=False)) if g.after == position.point]
    if not check_only and not known:
        detected = format_time(utc_now())
        body = build_gap(
            oplog.set_name, position.point, resume, reason=reason, detected=detected, message=why
        )
        oplog.record_gap(position.point, resume, body)
    raise OffsiteError(f"oplog archive of set {oplog.set_name} has a gap: {why}; {NEW_BASE}")


def _write_slice(oplog: OplogCatalog, opened: _Range, last: OplogTime, *, after: Optional[OplogTime],
                 compression: str, level: Optional[int], hello: Dict[str, Any],
                 started: datetime) -> Dict[str, Any]:  # fmt: skip
    """Stream the open range into the slice object, then write its manifest; returns the slice summary."""
    first = opened.first
    upload = oplog.open_upload(first, last, compression, started)
    with upload:
        compressor = compressing_writer(upload, compression, level)
        writer = _SliceWriter(compressor)
        try:
            writer.write(opened.pending)
            for batch in opened.cursor:
                writer.write(batch)
        finally:
            opened.cursor.close()
        compressor.finish()
        if writer.last != last:
            if writer.last is not None and writer.last < last:
                raise _EndMoved(writer.last)
            raise OffsiteError(
                f"the oplog changed while it was read (expected {first.describe()} to {last.describe()}, read "
                f"{writer.first} to {writer.last}): nothing was stored; run again"
            )
    result = upload.result
    obj = {
        "key": result.key, "size": result.size, "sha256": result.sha256, "etag": result.etag,
        "parts": result.parts, "version_id": result.version_id, "compression": compression,
        "storage_class": oplog.catalog.storage.storage_class or "STANDARD",
    }  # fmt: skip
    terms = {"first": writer.term_first, "last": writer.term_last, "elections": elections(writer.changes)}
    source = {"host": hello.get("me"), "replica_set": hello.get("setName")}
    manifest = build_slice_manifest(
        set_name=oplog.set_name, first=first, last=last, after=after, count=writer.count,
        raw_size=writer.raw_size, terms=terms, obj=obj, source=source, created=format_time(utc_now()),
        encryption=oplog.catalog.storage.encryption_record(), object_lock=oplog.object_lock(started),
    )  # fmt: skip
    key = oplog.commit(first, last, manifest, started)
    return {
        "folder": f"{first.name}-{last.name}", "key": result.key, "manifest_key": key,
        "first": first.summary(), "last": last.summary(), "after": after.summary() if after else None,
        "count": writer.count, "raw_size": writer.raw_size, "size": result.size, "sha256": result.sha256,
        "compression": compression, "terms": terms,
    }  # fmt: skip
