"""Oplog replay: the oplog entries an archive holds, applied with ``applyOps`` after the data.

As mongorestore --oplogReplay does (mongo-tools mongorestore/oplog.go): no-op entries, index-build
markers and entries of the config, local and admin system namespaces are skipped, and each entry's
collection UUID (``ui``, also inside nested ``applyOps``) is removed, because restored collections
have new UUIDs and a server would look the old one up and fail with NamespaceNotFound.
"""

from __future__ import annotations

from typing import Any, List

try:
    import bson
    from bson.son import SON
except (
    ImportError
):  # pragma: no cover - hosts without pymongo fail in mongo_connection.connect with a clear message
    bson = SON = None

from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.mongo_connection import server_message
from ansible_collections.offsite.mongodb.plugins.module_utils.namespaces import NamespaceFilter
from ansible_collections.offsite.mongodb.plugins.module_utils.restore_plan import RestorePlan

OPLOG_BATCH = 1000  # entries per applyOps command
SKIPPED_COMMANDS = ("startIndexBuild", "abortIndexBuild")


def without_uuids(entry: Any) -> Any:
    """The entry without ``ui``, in nested ``applyOps`` too (mongorestore's default, no --preserveUUID)."""
    entry.pop("ui", None)
    nested = (entry.get("o") or {}).get("applyOps") if entry.get("op") == "c" else None
    if isinstance(nested, list):
        for inner in nested:
            without_uuids(inner)
    return entry


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
        command = next(iter(entry.get("o") or {}), None) if entry.get("op") == "c" else None
        if command in SKIPPED_COMMANDS:
            continue
        batch.append(without_uuids(entry))
    if batch:
        try:
            client.admin.command("applyOps", batch)
        except Exception as exc:
            raise OffsiteError(f"oplog replay failed on {plan.where}: {server_message(exc)[:300]}") from None
    return len(batch)
