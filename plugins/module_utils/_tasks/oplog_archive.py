"""The ``mongo_oplog_archive`` task: options in, one archiving run (or its preview in check mode), result out."""

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
from ansible_collections.offsite.mongodb.plugins.module_utils.oplog_archive import archive_oplog
from ansible_collections.offsite.mongodb.plugins.module_utils.oplog_catalog import OplogCatalog


def run_oplog_archive_task(params: Mapping[str, Any], check_mode: bool) -> Dict[str, Any]:
    """Archive the oplog of the connected member's set; ``set_name`` defaults to the replica set name."""
    options = connection_options(params)
    catalog = catalog_from_options(params)
    client = connect(options)
    try:
        with mongo_errors(options, "archive the oplog"):
            set_name = params.get("set_name") or client.admin.command("hello").get("setName") or ""
            oplog = OplogCatalog(catalog, check_set_name(set_name))
            report = archive_oplog(
                client, oplog, compression=params.get("compression") or "zstd",
                compression_level=params.get("compression_level"), check_only=check_mode,
            )  # fmt: skip
    finally:
        client.close()
    result = report.to_result()
    result["bucket"] = catalog.bucket
    return result
