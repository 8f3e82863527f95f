"""The ``mongo_node_info`` task: what a node is (kind, set, hidden, version), whether it is locked, its oplog window and lag.

Read-only. What the user may not read (``currentOp``, ``local.oplog.rs``, ``replSetGetStatus``) is
reported as null rather than failing, so the roles can pick a node with a backup user's rights.
"""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional

from ansible_collections.offsite.mongodb.plugins.module_utils import fsync_lock
from ansible_collections.offsite.mongodb.plugins.module_utils.mongo_connection import (
    connect,
    connection_options,
    mongo_errors,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.mongo_node import NodeInfo, read_node
from ansible_collections.offsite.mongodb.plugins.module_utils.times import format_time

try:
    from pymongo.errors import PyMongoError
except (
    ImportError
):  # pragma: no cover - hosts without pymongo fail in mongo_connection.connect with a clear message
    PyMongoError = Exception


def run_node_info_task(params: Mapping[str, Any]) -> Dict[str, Any]:
    """The module result: ``node`` with kind, version, set_name, hidden, locked, oplog and lag_seconds."""
    options = connection_options(params)
    client = connect(options)
    try:
        with mongo_errors(options, "inspect the node"):
            node = read_node(client)
            info = node_summary(node)
            info["locked"] = _optional(lambda: fsync_lock.is_locked(client))
            info["oplog"] = _optional(lambda: oplog_window(client)) if node.is_replica_set_member else None
            info["lag_seconds"] = (
                _optional(lambda: replication_lag(client)) if node.kind == "secondary" else None
            )
    finally:
        client.close()
    info["address"] = options.safe_address()
    return {"changed": False, "node": info}


def node_summary(node: NodeInfo) -> Dict[str, Any]:
    """The fields every result that names a node carries."""
    return {
        "kind": node.kind,
        "version": node.version_string,
        "set_name": node.set_name,
        "hidden": node.hidden,
    }


def _optional(read: Any) -> Any:
    try:
        return read()
    except PyMongoError:
        return None


def oplog_window(client: Any) -> Optional[Dict[str, Any]]:
    """The oldest and newest oplog entry times and the hours between them, or None without an oplog."""
    oplog = client.local["oplog.rs"]
    first = oplog.find_one({}, sort=[("$natural", 1)], projection={"ts": 1})
    last = oplog.find_one({}, sort=[("$natural", -1)], projection={"ts": 1})
    if not first or not last:
        return None
    start, end = first["ts"].as_datetime(), last["ts"].as_datetime()
    return {
        "first": format_time(start),
        "last": format_time(end),
        "hours": round((end - start).total_seconds() / 3600, 2),
    }


def replication_lag(client: Any) -> Optional[float]:
    """Seconds this secondary's last applied write trails the primary's (``replSetGetStatus``)."""
    status = client.admin.command("replSetGetStatus")
    members = status.get("members") or []
    primary = next((m for m in members if m.get("stateStr") == "PRIMARY"), None)
    me = next((m for m in members if m.get("self")), None)
    if not primary or not me or not primary.get("optimeDate") or not me.get("optimeDate"):
        return None
    return max(0.0, (primary["optimeDate"] - me["optimeDate"]).total_seconds())
