"""Oplog replay: the oplog entries an archive holds, applied with ``applyOps`` after the data.

As mongorestore --oplogReplay does without --preserveUUID (mongo-tools mongorestore/oplog.go):
no-op entries, index-build markers and entries of the config, local and admin system namespaces are
skipped, and ``ui`` (the source collection's UUID, also inside nested ``applyOps``) is dropped, because
restored collections have new UUIDs and a server would fail with NamespaceNotFound. Point-in-time
replays stop after a limit.

Batches are applied in order, one at a time, by a sender thread: while the server applies one batch,
the next is read and prepared, so the replay runs at the server's pace rather than at the sum of both.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any, List, Optional, Tuple

try:
    import bson
    from bson.son import SON
except (
    ImportError
):  # pragma: no cover - hosts without pymongo fail in mongo_connection.connect with a clear message
    bson = SON = None

from ansible_collections.offsite.mongodb.plugins.module_utils import raw_documents
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.mongo_connection import server_message
from ansible_collections.offsite.mongodb.plugins.module_utils.namespaces import NamespaceFilter
from ansible_collections.offsite.mongodb.plugins.module_utils.oplog_entry_scan import (
    EntryTop,
    scan_entry,
    without_span,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.restore_plan import RestorePlan

OPLOG_BATCH = 1000  # entries per applyOps command
CODEC = bson.CodecOptions(document_class=SON) if bson is not None else None
SKIPPED_COMMANDS = ("startIndexBuild", "abortIndexBuild")


def _command_name(raw: bytes) -> Optional[str]:
    """The command an ``op: c`` entry runs (the first key of ``o``)."""
    inner = bson.decode(raw, codec_options=CODEC).get("o")
    return next(iter(inner), None) if isinstance(inner, dict) else None


def _decoded_without_uuid(raw: bytes) -> Any:
    """The entry decoded, without ``ui`` at the top or in the operations it nests (transactions)."""
    full = bson.decode(raw, codec_options=CODEC)
    full.pop("ui", None)
    inner = full.get("o")
    for op in (inner.get("applyOps") or []) if isinstance(inner, dict) else []:
        if isinstance(op, dict):
            op.pop("ui", None)
    return full


def _without_uuid(raw: bytes, top: Optional[EntryTop]) -> Any:
    """What to send for one entry: the raw bytes, less a top-level ``ui``; decoded only when it nests operations."""
    if top is None or top.nests_apply_ops:
        return _decoded_without_uuid(raw)
    return raw_documents.document_type()(without_span(raw, top.ui) if top.ui else raw)


class OplogApplier:
    """Oplog entries in, ``applyOps`` batches out: skips what a replay skips, stops after ``limit``.

    ``after`` skips entries at or before a position already reached (a base backup's end, or an
    overlapping slice); ``limit`` is the last entry to apply: ``add`` returns False at the first entry
    past it, and nothing past it is applied. Positions are ``(secs, inc)`` tuples.
    """

    def __init__(self, client: Any, plan: RestorePlan, *, after: Any = None, limit: Any = None,
                 batch_size: int = OPLOG_BATCH) -> None:  # fmt: skip
        self.client = client
        self.plan = plan
        self.selected = NamespaceFilter(plan.include, plan.exclude)
        self.after = after
        self.limit = limit
        self.batch_size = batch_size
        self.batch: List[Any] = []
        self.applied = 0
        self.namespaces: Counter = Counter()
        self.batch_last: Optional[Tuple[int, int]] = None
        self.last_applied: Optional[Tuple[int, int]] = None  # (secs, inc) of the newest entry applied
        self.reached: Optional[Tuple[int, int]] = after  # of the newest entry read and not past the limit
        self._sender: Optional[threading.Thread] = None  # the batch being applied, if any
        self._failure: Optional[OffsiteError] = None  # why the sender's batch failed

    def add(self, raw: bytes) -> bool:
        """Take one raw entry; False once an entry lies past ``limit`` (stop reading)."""
        top = scan_entry(raw)
        if top is None:  # an element type the walk does not know: read it the slow way
            entry = bson.decode(raw, codec_options=CODEC)
            stamp = entry["ts"]
            ts, op, ns = (stamp.time, stamp.inc), entry.get("op"), str(entry.get("ns", ""))
        else:
            ts, op, ns = top.ts, top.op, top.ns
        if self.limit is not None and ts > self.limit:
            self.flush()
            return False
        if self.after is not None and ts <= self.after:
            return True
        self.reached = ts
        if op == "n" or ns.startswith(("config.", "admin.system.", "local.")):
            return True
        if op != "c" and not self.selected.selects(ns):
            return True
        if op == "c" and _command_name(raw) in SKIPPED_COMMANDS:
            return True
        self.batch.append(_without_uuid(raw, top))
        self.batch_last = ts
        self.namespaces[ns] += 1
        if len(self.batch) >= self.batch_size:
            self._send_pending()
        return True

    def flush(self) -> None:
        """Apply the pending batch and wait until every batch sent is applied (raises the first failure)."""
        self._send_pending()
        self._wait()

    def _send_pending(self) -> None:
        """Hand the pending batch to the sender once the one before it is applied; returns while it is applied."""
        if not self.batch:
            return
        self._wait()
        batch, last = self.batch, self.batch_last
        self.batch = []
        self._sender = threading.Thread(
            target=self._apply, args=(batch, last), name="offsite-oplog-replay", daemon=True
        )
        self._sender.start()

    def settle(self) -> None:
        """Wait for the batch being applied, without raising: after a failure elsewhere, before ``last_applied`` is said."""
        if self._sender is not None:
            self._sender.join()
            self._sender = None

    def _wait(self) -> None:
        """Wait for the batch being applied; raise its failure, if it failed."""
        self.settle()
        if self._failure is not None:
            raise self._failure

    def _apply(self, batch: List[Any], last: Optional[Tuple[int, int]]) -> None:
        """One ``applyOps`` command (the sender thread's work); a failure is kept for ``_wait``."""
        try:
            self.client.admin.command("applyOps", batch)
        except Exception as exc:
            self._failure = OffsiteError(
                f"oplog replay failed on {self.plan.where}: {server_message(exc)[:300]}"
            )
            return
        self.applied += len(batch)
        self.last_applied = last


def apply_oplog(client: Any, entries: List[bytes], plan: RestorePlan) -> int:
    """Replay oplog entries with ``applyOps`` (no-ops and config/system entries are skipped)."""
    applier = OplogApplier(client, plan)
    for raw in entries:
        applier.add(raw)
    applier.flush()
    return applier.applied
