"""A dump streamed straight into the S3 backup catalog: no local file, bounded memory, manifest last.

MongoDB -> archive writer -> compressor -> multipart upload (SHA-256 computed on the way). When
the dump or the upload fails, the multipart upload is aborted: no parts and no manifest remain,
so the catalog never lists a backup that is not whole.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Mapping, Optional

from ansible_collections.offsite.mongodb.plugins.module_utils.backup_id import (
    check_backup_id,
    check_set_name,
    new_backup_id,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.dump import (
    DumpPlan,
    describe_plan,
    dump_archive,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.store import BackupStore


def dump_to_catalog(
    client_factory: Callable[[], Any],
    store: BackupStore,
    set_name: str,
    plan: DumpPlan,
    *,
    backup_id: Optional[str] = None,
    labels: Optional[Mapping[str, Any]] = None,
    check_mode: bool = False,
) -> Dict[str, Any]:
    """Dump into the catalog as ``<prefix>/<set_name>/<backup_id>/``; returns the dump result plus the backup."""
    plan.check()
    check_set_name(set_name)
    backup_id = check_backup_id(backup_id) if backup_id else new_backup_id()
    if store.scan(set_name, backup_id):
        raise OffsiteError(
            f"backup {backup_id} of set {set_name} already exists in s3://{store.bucket}: "
            "nothing was overwritten; choose another backup_id or leave it unset"
        )
    keys = {
        "backup_id": backup_id,
        "bucket": store.bucket,
        "archive_key": store.archive_key(set_name, backup_id, plan.compression),
        "manifest_key": store.manifest_key(set_name, backup_id),
    }
    client = client_factory()
    try:
        if check_mode:
            return {"changed": True, "path": None, "engine": "native", **describe_plan(client, plan), **keys}
        with store.open_upload(set_name, backup_id, plan.compression) as upload:
            report = dump_archive(client, upload, plan)
    finally:
        client.close()
    uploaded = upload.result
    result = report.to_result()
    result.update(path=None, size=uploaded.size, sha256=uploaded.sha256, engine="native")
    manifest = store.commit(
        set_name, backup_id, uploaded, metadata=result, labels=labels, compression=plan.compression
    )
    result.update(changed=True, manifest=manifest, warnings=report.warnings, **keys)
    return result
