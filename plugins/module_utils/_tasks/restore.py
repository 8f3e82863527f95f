"""The ``mongo_restore_archive`` task: options in, an archive file restored (or verified in check mode), result out.

The engine is chosen here, once: ``auto`` and ``native`` are this collection's restorer;
``mongorestore`` runs the MongoDB Database Tools behind the same safety checks.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

from ansible_collections.offsite.mongodb.plugins.module_utils.database_tools import (
    find_tool,
    run_mongorestore,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.local_files import HashingReader, file_sha256
from ansible_collections.offsite.mongodb.plugins.module_utils.mongo_connection import (
    ConnectionOptions,
    connect,
    connection_options,
    mongo_errors,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.restore import (
    RestoreFailed,
    RestoreReport,
    restore_archive,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.restore_plan import RestorePlan
from ansible_collections.offsite.mongodb.plugins.module_utils.streams import Readable

Restorer = Callable[[Any, Readable, RestorePlan], RestoreReport]


def restore_plan_from_options(params: Mapping[str, Any], where: str, check_only: bool) -> RestorePlan:
    """The restore plan the options describe (checked)."""
    plan = RestorePlan(
        include=params.get("include") or [],
        exclude=params.get("exclude") or [],
        ns_from=params.get("ns_from") or [],
        ns_to=params.get("ns_to") or [],
        drop=bool(params.get("drop")),
        oplog_replay=bool(params.get("oplog_replay")),
        users_and_roles=bool(params.get("users_and_roles")),
        parallel_collections=params.get("parallel_collections") or 4,
        insertion_workers=params.get("insertion_workers") or 1,
        write_concern=params.get("write_concern"),
        check_only=check_only,
        where=where,
    )
    plan.check()
    return plan


def choose_restorer(
    options: ConnectionOptions, engine: str, tool_path: Optional[str]
) -> Tuple[str, Restorer]:
    """(engine name, the function that restores from a source) for ``engine``."""
    if engine in ("auto", "native", None):
        return "native", restore_archive
    tool = find_tool("mongorestore", tool_path)
    return "mongorestore", lambda client, source, plan: run_mongorestore(options, client, source, plan, tool)


def run_restore_task(params: Mapping[str, Any], check_mode: bool) -> Dict[str, Any]:
    """Restore ``src``; raises ``RestoreFailed`` (with the partial report) when it stops part way."""
    options = connection_options(params)
    plan = restore_plan_from_options(params, options.safe_address(), check_only=check_mode)
    engine, restorer = choose_restorer(
        options, params.get("engine") or "auto", params.get("mongorestore_path")
    )
    if check_mode:
        restorer = restore_archive  # check mode reads and verifies the archive; no engine writes
    with mongo_errors(options, "restore"):
        return restore_from_file(
            lambda: connect(options), params["src"], plan, restorer, engine=engine,
            expected_sha256=params.get("sha256"),
        )  # fmt: skip


def restore_from_file(
    client_factory: Callable[[], Any],
    src: str,
    plan: RestorePlan,
    restorer: Restorer = restore_archive,
    *,
    engine: str = "native",
    expected_sha256: Optional[str] = None,
) -> Dict[str, Any]:
    """Restore the archive file ``src``; ``expected_sha256`` is checked before any write."""
    if not os.path.isfile(src):
        raise OffsiteError(f"src {src} is not a file: give the path of an archive")
    if expected_sha256:
        actual = file_sha256(src)
        if actual != expected_sha256.strip().lower():
            raise OffsiteError(
                f"src {src} has SHA-256 {actual}, not the expected {expected_sha256}: the file is damaged or not "
                "the backup you meant; fetch it again"
            )
    client = None if plan.check_only else client_factory()
    try:
        with open(src, "rb") as handle:
            source = HashingReader(handle)
            try:
                report = restorer(client, source, plan)
            except RestoreFailed as failure:
                failure.report.verified = False
                raise
            source.drain()
    finally:
        if client is not None:
            client.close()
    result = report.to_result(check_only=plan.check_only)
    changed = not plan.check_only and bool(
        report.namespaces or report.dropped or report.oplog_entries_applied
    )
    result.update(changed=changed, src=os.path.abspath(src), sha256=source.sha256, engine=engine)
    return result
