"""The ``mongo_dump_archive`` task: options in, a dump to a local file or streamed into the catalog, result out.

The engine is chosen here, once: ``auto`` and ``native`` are this collection's dumper (it streams to
S3, writes zstd, reads at one snapshot time and is the code the tests prove); ``mongodump`` runs the
MongoDB Database Tools and writes local files only.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

from ansible_collections.offsite.mongodb.plugins.module_utils._tasks.catalog import (
    STALE_UPLOAD_IDLE,
    clean_stale_uploads,
    optional_retention,
    prune_after_upload,
)
from ansible_collections.offsite.mongodb.plugins.module_utils._tasks.catalog_options import (
    catalog_from_options,
)
from ansible_collections.offsite.mongodb.plugins.module_utils._tasks.option_values import given
from ansible_collections.offsite.mongodb.plugins.module_utils.backup_id import (
    check_backup_id,
    check_set_name,
    new_backup_id,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.byte_budget import upload_concurrency
from ansible_collections.offsite.mongodb.plugins.module_utils.catalog import Catalog
from ansible_collections.offsite.mongodb.plugins.module_utils.database_tools import find_tool, run_mongodump
from ansible_collections.offsite.mongodb.plugins.module_utils.dump import (
    DumpReport,
    dump_archive,
    preview_dump,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.dump_plan import DumpPlan
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.local_files import (
    AtomicFile,
    file_sha256,
    read_sidecar,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.mongo_connection import (
    ConnectionOptions,
    connect,
    connection_options,
    mongo_errors,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.streams import Writable

Dumper = Callable[[Any, Writable, DumpPlan], DumpReport]


def dump_plan_from_options(params: Mapping[str, Any], where: str) -> DumpPlan:
    """The dump plan the options describe (checked)."""
    plan = DumpPlan(
        databases=params.get("databases") or [],
        include=params.get("include") or [],
        exclude=params.get("exclude") or [],
        query=params.get("query") or {},
        parallel_collections=given(params, "parallel_collections", 4),
        consistency=params.get("consistency") or "none",
        compression=params.get("compression") or "gzip",
        compression_level=params.get("compression_level"),
        where=where,
    )
    plan.check()
    return plan


def choose_dumper(options: ConnectionOptions, engine: str, tool_path: Optional[str]) -> Tuple[str, Dumper]:
    """(engine name, the function that dumps into a sink) for ``engine``."""
    if engine in ("auto", "native", None):
        return "native", dump_archive
    tool = find_tool("mongodump", tool_path)
    return "mongodump", lambda _client, sink, plan: run_mongodump(options, sink, plan, tool)


def run_dump_task(params: Mapping[str, Any], check_mode: bool) -> Dict[str, Any]:
    """Dump to ``dest`` or into the catalog ``bucket``; the module result (warnings under ``warnings``)."""
    options = connection_options(params)
    plan = dump_plan_from_options(params, options.safe_address())
    engine, dumper = choose_dumper(options, params.get("engine") or "auto", params.get("mongodump_path"))
    with mongo_errors(options, "dump"):
        if params.get("bucket"):
            if engine != "native":
                raise OffsiteError("engine=mongodump writes local files only: use engine=native with bucket")
            policy = optional_retention(params)
            catalog = catalog_from_options(params)
            stored = dump_to_catalog(
                lambda: connect(options), catalog, params.get("set_name"), plan,
                backup_id=params.get("backup_id"), labels=params.get("labels"), check_mode=check_mode,
                stale_uploads_after=params.get("stale_uploads_after") or STALE_UPLOAD_IDLE,
            )  # fmt: skip
            return prune_after_upload(catalog, params["set_name"], policy, stored, check_mode)
        if optional_retention(params) is not None:
            raise OffsiteError("keep_* rules prune the S3 catalog: set bucket (and set_name) or remove them")
        return dump_to_file(
            lambda: connect(options), params["dest"], plan, dumper, engine=engine,
            force=bool(params.get("force")), check_mode=check_mode,
        )  # fmt: skip


def dump_to_file(
    client_factory: Callable[[], Any],
    dest: str,
    plan: DumpPlan,
    dumper: Dumper = dump_archive,
    *,
    engine: str = "native",
    force: bool = False,
    check_mode: bool = False,
) -> Dict[str, Any]:
    """Dump into ``dest`` atomically (mode 0600, SHA-256 inline, ``.sha256`` sidecar).

    An existing ``dest`` whose sidecar matches its content is left alone (changed=false) unless ``force``.
    """
    if os.path.exists(dest) and not force:
        recorded = read_sidecar(dest)
        if recorded and recorded == file_sha256(dest):
            return {"changed": False, "path": dest, "size": os.path.getsize(dest), "sha256": recorded,
                    "compression": plan.compression, "consistency": plan.consistency, "engine": engine,
                    "msg": "dest exists and matches its .sha256 sidecar: set force to dump again"}  # fmt: skip
        raise OffsiteError(
            f"dest {dest} exists and is not a verified archive of this module: set force: true to overwrite"
        )
    client = client_factory()
    try:
        if check_mode:
            return {"changed": True, "path": dest, "engine": engine, **preview_dump(client, plan)}
        with AtomicFile(dest) as sink:
            report = dumper(client, sink, plan)
            sha256 = sink.commit()
    finally:
        client.close()
    result = report.to_result()
    result.update(changed=True, path=os.path.abspath(dest), size=sink.size, sha256=sha256, engine=engine)
    result["warnings"] = report.warnings
    return result


def dump_to_catalog(
    client_factory: Callable[[], Any],
    catalog: Catalog,
    set_name: str,
    plan: DumpPlan,
    *,
    backup_id: Optional[str] = None,
    labels: Optional[Mapping[str, Any]] = None,
    stale_uploads_after: str = STALE_UPLOAD_IDLE,
    check_mode: bool = False,
) -> Dict[str, Any]:
    """Stream the dump into the catalog as ``<prefix>/<set_name>/<backup_id>/``: no local file, manifest last.

    When the dump or the upload fails, the multipart upload is aborted: no parts and no manifest remain.
    """
    check_set_name(set_name)
    backup_id = check_backup_id(backup_id) if backup_id else new_backup_id()
    if catalog.scan(set_name, backup_id):
        raise OffsiteError(
            f"backup {backup_id} of set {set_name} already exists in s3://{catalog.bucket}: "
            "nothing was overwritten; choose another backup_id or leave it unset"
        )
    keys = {
        "backup_id": backup_id,
        "bucket": catalog.bucket,
        "archive_key": catalog.layout.archive_key(set_name, backup_id, plan.compression),
        "manifest_key": catalog.layout.manifest_key(set_name, backup_id),
    }
    client = client_factory()
    try:
        if check_mode:
            return {"changed": True, "path": None, "engine": "native", **preview_dump(client, plan), **keys}
        cleaned = clean_stale_uploads(catalog, set_name, stale_uploads_after)
        parts = upload_concurrency(plan.memory_budget, catalog.part_size, catalog.max_concurrency)
        with catalog.open_upload(set_name, backup_id, plan.compression, max_concurrency=parts) as upload:
            report = dump_archive(client, upload, plan)
    finally:
        client.close()
    uploaded = upload.result
    result = report.to_result()
    result.update(path=None, size=uploaded.size, sha256=uploaded.sha256, engine="native")
    manifest = catalog.commit(
        set_name, backup_id, uploaded, metadata=result, labels=labels, compression=plan.compression
    )
    result.update(changed=True, manifest=manifest, warnings=report.warnings, aborted_uploads=cleaned, **keys)
    return result
