"""The ``mongo_restore_archive`` task: options in, an archive file restored (or verified in check mode), result out.

The engine is chosen here, once: ``auto`` and ``native`` are this collection's restorer;
``mongorestore`` runs the MongoDB Database Tools behind the same safety checks.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

from ansible_collections.offsite.mongodb.plugins.module_utils._tasks.option_values import given
from ansible_collections.offsite.mongodb.plugins.module_utils.database_tools import (
    find_tool,
    run_mongorestore,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.local_files import (
    HashingReader,
    check_archive_file,
    check_file_sha256,
    read_sidecar,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.manifest import check_sha256
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
        parallel_collections=given(params, "parallel_collections", 4),
        insertion_workers=given(params, "insertion_workers", 1),
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


def verify_before_writing(src: str, expected_sha256: Optional[str], check_only: bool = False) -> str:
    """Prove ``src`` whole before anything is written; returns how (``sha256`` or ``read``, ``none`` in check mode)."""
    consequence = "nothing was restored; fetch the archive again or restore another backup"
    if expected_sha256:
        check_file_sha256(src, expected_sha256, "the sha256 option", consequence)
        return "sha256"
    recorded = read_sidecar(src)
    if recorded:
        check_file_sha256(src, recorded, "its .sha256 sidecar", consequence)
        return "sha256"
    if check_only:
        return "none"  # check mode reads and verifies the whole archive anyway
    check_archive_file(src, consequence)
    return "read"


def restore_from_file(
    client_factory: Callable[[], Any],
    src: str,
    plan: RestorePlan,
    restorer: Restorer = restore_archive,
    *,
    engine: str = "native",
    expected_sha256: Optional[str] = None,
) -> Dict[str, Any]:
    """Restore the archive file ``src``, verified whole before the first write.

    With a digest (``expected_sha256``, or the ``.sha256`` sidecar the dump wrote) the file's SHA-256 is
    checked first; without one the whole archive is read once with every check. A corrupt archive
    therefore never leaves a document in a target namespace.
    """
    if not os.path.isfile(src):
        raise OffsiteError(f"src {src} is not a file: give the path of an archive")
    expected_sha256 = check_sha256(expected_sha256, "sha256")
    verify_before_writing(src, expected_sha256, check_only=plan.check_only)
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
