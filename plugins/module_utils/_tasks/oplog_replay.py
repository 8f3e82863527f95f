"""The ``mongo_oplog_replay`` task: plan a point-in-time recovery from the catalog (check mode: plan only,
no connection), or replay the archived oplog on top of the restored base backup up to the target."""

from __future__ import annotations

from typing import Any, Dict, Mapping

from ansible_collections.offsite.mongodb.plugins.module_utils._tasks.catalog_options import (
    catalog_from_options,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.backup_id import check_set_name
from ansible_collections.offsite.mongodb.plugins.module_utils.mongo_connection import (
    connect,
    connection_options,
    mongo_errors,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.oplog_catalog import OplogCatalog
from ansible_collections.offsite.mongodb.plugins.module_utils.oplog_point_restore import (
    plan_recovery,
    replay_to_point,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.oplog_time import parse_target
from ansible_collections.offsite.mongodb.plugins.module_utils.restore_plan import RestorePlan


def run_oplog_replay_task(params: Mapping[str, Any], check_mode: bool) -> Dict[str, Any]:
    """The plan (always) and, outside check mode, the replay's report."""
    text = str(params.get("to") or "").strip()
    target = None if text in ("", "latest") else parse_target(text, "to")
    set_name = check_set_name(params.get("set_name") or "")
    oplog = OplogCatalog(catalog_from_options(params), set_name)
    plan, overview = plan_recovery(oplog, target, params.get("backup_id"))
    result: Dict[str, Any] = {
        "changed": False,
        "plan": plan.summary(),
        "backup_id": plan.base.backup_id,
        **overview,
    }
    result["target"] = plan.target.summary()
    if check_mode:
        return result
    options = connection_options(params)
    restore = RestorePlan(
        include=params.get("include") or [], exclude=params.get("exclude") or [], where=options.safe_address()
    )
    restore.check()
    client = connect(options)
    try:
        with mongo_errors(options, "replay the archived oplog"):
            report = replay_to_point(client, oplog, plan, restore)
    finally:
        client.close()
    result.update(report.to_result())
    result["changed"] = report.entries_applied > 0
    return result
