"""Oplog replay: the oplog entries an archive holds, applied with ``applyOps`` after the data.

No-op entries and entries of the config, local and admin system namespaces are skipped, and ``ui``
(the source collection's UUID) is dropped, as mongorestore --oplogReplay does without
--preserveUUID (mongo-tools mongorestore/oplog.go). Point-in-time replays stop after a limit.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, List, Optional

try:
    import bson
    from bson.raw_bson import RawBSONDocument
    from bson.son import SON
except (
    ImportError
):  # pragma: no cover - hosts without pymongo fail in mongo_connection.connect with a clear message
    bson = RawBSONDocument = SON = None

from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.mongo_connection import server_message
from ansible_collections.offsite.mongodb.plugins.module_utils.namespaces import NamespaceFilter
from ansible_collections.offsite.mongodb.plugins.module_utils.restore_plan import RestorePlan

OPLOG_BATCH = 1000  # entries per applyOps command
CODEC = bson.CodecOptions(document_class=SON) if bson is not None else None


UI_ELEMENT = b"\x05ui\x00\x10\x00\x00\x00\x04"  # binary field "ui": 16 bytes, subtype 4 (a UUID)
UI_LENGTH = len(UI_ELEMENT) + 16
FIXED_SIZES = {0x01: 8, 0x07: 12, 0x08: 1, 0x09: 8, 0x0A: 0, 0x10: 4, 0x11: 8, 0x12: 8}


def _top_level_ui(raw: bytes) -> Optional[int]:
    """Offset of the top-level ``ui`` element of a raw entry, or None (absent, or not found the cheap way)."""
    at = raw.find(UI_ELEMENT, 4)
    position = 4
    while 0 <= position < at:
        kind = raw[position]
        position = raw.index(b"\x00", position + 1) + 1
        if kind in FIXED_SIZES:
            position += FIXED_SIZES[kind]
        elif kind in (0x02, 0x03, 0x04, 0x05):
            size = int.from_bytes(raw[position : position + 4], "little")
            position += size + (4 if kind == 0x02 else 5 if kind == 0x05 else 0)
        else:
            return None
    return at if at >= 4 and position == at else None


def _without_uuid(entry: Any) -> Any:
    """The entry without ``ui`` (also in nested applyOps): the target's collections have their own UUIDs.

    ``entry`` is read lazily (nested documents stay raw BSON); only an entry that carries a ``ui`` or
    nests an ``applyOps`` is rebuilt, and only its top level unless it nests operations.
    """
    if entry.get("op") == "c" and "applyOps" in (entry.get("o") or {}):
        full = bson.decode(entry.raw, codec_options=CODEC)
        full.pop("ui", None)
        for op in full["o"].get("applyOps") or []:
            if isinstance(op, dict):
                op.pop("ui", None)
        return full
    if "ui" not in entry:
        return entry
    raw = entry.raw
    at = _top_level_ui(raw)
    if at is None:
        return SON((key, value) for key, value in entry.items() if key != "ui")
    return RawBSONDocument((len(raw) - UI_LENGTH).to_bytes(4, "little") + raw[4:at] + raw[at + UI_LENGTH :])


class OplogApplier:
    """Oplog entries in, ``applyOps`` batches out: skips what a replay skips, stops after ``limit``.

    ``after`` skips entries at or before a position already reached (a base backup's end, or an
    overlapping slice); ``limit`` (a ``bson.Timestamp``) is the last entry to apply: ``add`` returns
    False at the first entry past it, and nothing past it is applied.
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
        self.last_applied: Any = None  # ts of the newest entry applied
        self.reached: Any = after  # ts of the newest entry read and not past the limit

    def add(self, raw: bytes) -> bool:
        """Take one raw entry; False once an entry lies past ``limit`` (stop reading)."""
        entry = RawBSONDocument(raw)
        ts = entry.get("ts")
        if self.limit is not None and ts > self.limit:
            self.flush()
            return False
        if self.after is not None and ts <= self.after:
            return True
        self.reached = ts
        ns = str(entry.get("ns", ""))
        if entry.get("op") == "n" or ns.startswith(("config.", "admin.system.", "local.")):
            return True
        if entry.get("op") != "c" and not self.selected.selects(ns):
            return True
        self.batch.append(_without_uuid(entry))
        self.namespaces[ns] += 1
        if len(self.batch) >= self.batch_size:
            self.flush()
        return True

    def flush(self) -> None:
        """Send the pending batch with ``applyOps``."""
        if not self.batch:
            return
        try:
            self.client.admin.command("applyOps", self.batch)
        except Exception as exc:
            raise OffsiteError(
                f"oplog replay failed on {self.plan.where}: {server_message(exc)[:300]}"
            ) from None
        self.applied += len(self.batch)
        self.last_applied = self.batch[-1]["ts"]
        self.batch = []


def apply_oplog(client: Any, entries: List[bytes], plan: RestorePlan) -> int:
    """Replay oplog entries with ``applyOps`` (no-ops and config/system entries are skipped)."""
    applier = OplogApplier(client, plan)
    for raw in entries:
        applier.add(raw)
    applier.flush()
    return applier.applied
