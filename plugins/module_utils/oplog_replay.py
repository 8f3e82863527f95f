"""Oplog replay: the oplog entries an archive holds, applied with ``applyOps`` after the data.

No-op entries and entries of the config, local and admin system namespaces are skipped, and the
collection UUIDs (``ui``) are removed, also from nested ``applyOps``, as mongorestore --oplogReplay
does (mongo-tools mongorestore/oplog.go): mongod finds an op's collection by its ``ui``, and the
restored collections have new UUIDs.
"""

from __future__ import annotations

from typing import Any, List

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


def apply_oplog(client: Any, entries: List[bytes], plan: RestorePlan) -> int:
    """Replay oplog entries with ``applyOps`` (no-ops and config/system entries are skipped)."""
    selected = NamespaceFilter(plan.include, plan.exclude)
    batch = []
    for raw in entries:
        entry = bson.decode(raw, codec_options=bson.CodecOptions(document_class=SON))
        ns = str(entry.get("ns", ""))
        if entry.get("op") == "n" or ns.startswith(("config.", "admin.system.", "local.")):
            continue
        if entry.get("op") != "c" and not selected.selects(ns):
            continue
        batch.append(_without_uuids(entry) if _names_uuids(entry) else RawBSONDocument(raw))
    if batch:
        try:
            client.admin.command("applyOps", batch)
        except Exception as exc:
            raise OffsiteError(f"oplog replay failed on {plan.where}: {server_message(exc)[:300]}") from None
    return len(batch)


def _nested(entry: Any) -> List[Any]:
    o = entry.get("o")
    if entry.get("op") == "c" and isinstance(o, dict) and isinstance(o.get("applyOps"), list):
        return o["applyOps"]
    return []


def _names_uuids(entry: Any) -> bool:
    return "ui" in entry or any(_names_uuids(op) for op in _nested(entry))


def _without_uuids(entry: Any) -> Any:
    """The entry (a decoded SON) without ``ui``, in it and in the ops it nests."""
    entry.pop("ui", None)
    for op in _nested(entry):
        _without_uuids(op)
    return entry
