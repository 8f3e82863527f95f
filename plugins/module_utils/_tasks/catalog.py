"""The ``s3_backup_archive`` task: put, get, delete and prune backups of the catalog, as module results.

Listing lives in ``catalog_info`` (the info module's task); ``mode=list`` calls it during its
deprecation cycle.
"""

from __future__ import annotations

import glob
import os
import tempfile
from datetime import datetime, timedelta
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ansible_collections.offsite.mongodb.plugins.module_utils._tasks.catalog_info import list_catalog
from ansible_collections.offsite.mongodb.plugins.module_utils._tasks.catalog_options import (
    catalog_from_options,
)
from ansible_collections.offsite.mongodb.plugins.module_utils._tasks.oplog_prune import prune_oplog
from ansible_collections.offsite.mongodb.plugins.module_utils.backup_id import (
    check_backup_id,
    check_set_name,
    new_backup_id,
    parse_catalog_time,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.catalog import Catalog
from ansible_collections.offsite.mongodb.plugins.module_utils.catalog_layout import compression_of
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.local_files import (
    check_archive_file,
    file_sha256,
    remove_quietly,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.manifest import check_sha256
from ansible_collections.offsite.mongodb.plugins.module_utils.retention import (
    RULES,
    Candidate,
    Policy,
    apply_policy,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.times import (
    format_time,
    parse_duration,
    to_utc,
    utc_now,
)

READ_BLOCK = 8 * 1024 * 1024
STALE_UPLOAD_IDLE = "15m"  # an unfinished upload untouched this long was left by a run that died
NEEDS_SET = ("put", "get", "delete", "prune")


def run_catalog_task(params: Mapping[str, Any], check_mode: bool) -> Dict[str, Any]:
    """Dispatch one ``mode``; every option is checked before the first request."""
    mode = params["mode"]
    set_name = params.get("set_name")
    if mode in NEEDS_SET and not set_name:
        raise OffsiteError(f"mode={mode} needs set_name (the replica set or host whose backups to use)")
    if mode == "list":
        return list_catalog(params)
    check_set_name(set_name)
    if mode == "prune":
        policy, abandoned = retention_from_options(params)
        return prune_set(catalog_from_options(params), set_name, policy, abandoned, check_mode=check_mode)
    catalog = catalog_from_options(params)
    if mode == "put":
        policy = optional_retention(params)
        stored = put_backup(
            catalog, set_name, params["src"], params.get("backup_id"), metadata=params.get("metadata"),
            labels=params.get("labels"), expected_sha256=params.get("sha256"), check_mode=check_mode,
            stale_uploads_after=params.get("stale_uploads_after") or STALE_UPLOAD_IDLE,
        )  # fmt: skip
        return prune_after_upload(catalog, set_name, policy, stored, check_mode)
    if mode == "get":
        before = parse_catalog_time(params["before"], "before") if params.get("before") else None
        return get_backup(
            catalog,
            set_name,
            params["dest"],
            params.get("backup_id") or "latest",
            before=before,
            check_mode=check_mode,
        )
    if params.get("backup_id"):
        return delete_backup(catalog, set_name, params["backup_id"], check_mode)
    return delete_set(catalog, set_name, bool(params.get("confirm_delete_all")), check_mode)


def retention_from_options(params: Mapping[str, Any]) -> Tuple[Policy, Optional[timedelta]]:
    """The retention policy and the abandoned-upload age the options give (checked)."""
    policy = Policy(
        keep_last=params.get("keep_last"),
        keep_hourly=params.get("keep_hourly"),
        keep_daily=params.get("keep_daily"),
        keep_weekly=params.get("keep_weekly"),
        keep_monthly=params.get("keep_monthly"),
        keep_yearly=params.get("keep_yearly"),
        keep_within=parse_duration(params["keep_within"], "keep_within")
        if params.get("keep_within")
        else None,
    ).check()
    abandoned = params.get("abandoned_after")
    return policy, parse_duration(abandoned, "abandoned_after") if abandoned else None


def optional_retention(params: Optional[Mapping[str, Any]]) -> Optional[Policy]:
    """The retention rules ``params`` set (checked), or None when every rule is unset or 0: nothing is pruned then."""
    if not params or not any(params.get(rule) for rule in (*RULES, "keep_within")):
        return None
    return retention_from_options({**params, "abandoned_after": None})[0]


def prune_after_upload(
    catalog: Catalog, set_name: str, policy: Optional[Policy], stored: Dict[str, Any], check_mode: bool
) -> Dict[str, Any]:
    """``stored`` (an upload's result) with ``pruned``: the prune result once ``policy`` was applied to the set.

    Runs only after the new backup is whole in the catalog. A prune that fails then is a warning, not a
    failure: the backup stays and the next run prunes. Check mode prunes nothing (``pruned: null``).
    """
    if policy is None or check_mode:
        return {**stored, "pruned": None}
    try:
        pruned = prune_set(catalog, set_name, policy)
    except OffsiteError as exc:
        warning = f"backup {stored['backup_id']} of set {set_name} is stored, but the retention rules were not applied: {exc}"
        return {**stored, "pruned": None, "warnings": [*stored.get("warnings", []), warning]}
    return {**stored, "pruned": pruned, "changed": stored["changed"] or pruned["changed"]}


# -- put ------------------------------------------------------------------------------------------
def put_backup(
    catalog: Catalog,
    set_name: str,
    src: str,
    backup_id: Optional[str] = None,
    *,
    metadata: Optional[Mapping[str, Any]] = None,
    labels: Optional[Mapping[str, Any]] = None,
    expected_sha256: Optional[str] = None,
    stale_uploads_after: str = STALE_UPLOAD_IDLE,
    check_mode: bool = False,
    now: Optional[datetime] = None,
) -> Dict[str, Any]:
    """Store a local archive as one backup; the same archive already stored there is ``changed: false``."""
    meta = dict(metadata or {})
    expected = _agreed_sha256(
        check_sha256(expected_sha256), check_sha256(meta.get("sha256"), "metadata.sha256")
    )
    if not src:
        raise OffsiteError("mode=put needs src: the local archive file to upload")
    if not (os.path.isfile(src) and os.access(src, os.R_OK)):
        raise OffsiteError(f"src {src!r} is not a readable file: give the path of the archive to upload")
    check_archive_file(src)
    size = os.path.getsize(src)
    compression = meta.get("compression") or compression_of(src)
    explicit = bool(backup_id)
    if explicit:
        check_backup_id(backup_id)
    else:
        started = meta.get("started_at")
        backup_id = new_backup_id(parse_catalog_time(started, "metadata.started_at") if started else now)
    existing, file_sha = _stored_as(catalog, set_name, backup_id, src, expected)
    if existing is not None and existing["archive"]["sha256"] != file_sha and not explicit:
        backup_id = f"{backup_id}-{file_sha[:8]}"
        existing, file_sha = _stored_as(catalog, set_name, backup_id, src, expected)
    if existing is not None:
        if existing["archive"]["sha256"] == file_sha:
            return _put_result(catalog, existing, changed=False)
        raise OffsiteError(
            f"backup {backup_id} of set {set_name} already holds another archive (SHA-256 "
            f"{existing['archive']['sha256']}): nothing was overwritten; choose another backup_id"
        )
    if check_mode:
        return {
            "changed": True,
            "backup_id": backup_id,
            "archive_key": catalog.layout.archive_key(set_name, backup_id, compression),
            "manifest_key": catalog.layout.manifest_key(set_name, backup_id),
            "size": size,
            "sha256": file_sha or expected,
            "manifest": {},
        }
    cleaned = clean_stale_uploads(catalog, set_name, stale_uploads_after)
    stream = catalog.open_upload(
        set_name, backup_id, compression, size=size, expected_sha256=expected, now=now
    )
    with stream, open(src, "rb") as handle:
        block = stream.fixed or READ_BLOCK  # whole parts: handed to S3 without a copy
        for chunk in iter(lambda: handle.read(block), b""):
            stream.write(chunk)
    manifest = catalog.commit(
        set_name, backup_id, stream.result, metadata=meta, labels=labels, compression=compression, now=now
    )
    return {**_put_result(catalog, manifest, changed=True), "aborted_uploads": cleaned}


def clean_stale_uploads(
    catalog: Catalog, set_name: str, idle: str = STALE_UPLOAD_IDLE
) -> List[Dict[str, Any]]:
    """Abort the unfinished uploads that dead runs of this set left (a running backup's is never idle)."""
    stale = catalog.stale_uploads(set_name, parse_duration(idle, "stale upload idle time"))
    catalog.abort_uploads(stale)
    return [upload_summary(upload) for upload in stale]


def _stored_as(
    catalog: Catalog, set_name: str, backup_id: str, src: str, expected: Optional[str]
) -> Tuple[Optional[Dict[str, Any]], Optional[str]]:
    """The manifest already stored as ``backup_id`` (None when incomplete or absent) and, then, src's digest."""
    listings = catalog.scan(set_name, backup_id)
    if not listings or not listings[0].complete:
        return None, expected
    manifest = catalog.load_manifest(set_name, backup_id)
    digest = file_sha256(src)
    if expected and digest != expected:
        raise OffsiteError(
            f"src {src!r} has SHA-256 {digest}, not the expected {expected}: nothing was stored; "
            "check the archive and the sha256 option"
        )
    return manifest, digest


def _put_result(catalog: Catalog, manifest: Dict[str, Any], changed: bool) -> Dict[str, Any]:
    return {
        "changed": changed,
        "backup_id": manifest["backup_id"],
        "archive_key": manifest["archive"]["key"],
        "manifest_key": catalog.layout.manifest_key(manifest["set_name"], manifest["backup_id"]),
        "size": manifest["archive"]["size"],
        "sha256": manifest["archive"]["sha256"],
        "manifest": manifest,
    }


def _agreed_sha256(option: Optional[str], metadata: Optional[str]) -> Optional[str]:
    if option and metadata and option != metadata:
        raise OffsiteError(
            f"sha256 ({option}) and metadata.sha256 ({metadata}) disagree: nothing was stored; pass matching values"
        )
    return option or metadata


# -- get ------------------------------------------------------------------------------------------
def get_backup(
    catalog: Catalog,
    set_name: str,
    dest: str,
    backup_id: Optional[str] = "latest",
    *,
    before: Optional[datetime] = None,
    check_mode: bool = False,
) -> Dict[str, Any]:
    """Download a backup's archive to ``dest`` (a file, or a directory to put it in), verified."""
    if not dest:
        raise OffsiteError("mode=get needs dest: the local file (or directory) to write the archive to")
    directory = dest if os.path.isdir(dest) else os.path.dirname(os.path.abspath(dest))
    if not os.path.isdir(directory):
        raise OffsiteError(f"the directory of dest {dest!r} does not exist: create it or fix dest")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise OffsiteError(
            f"the directory {directory!r} of dest is not writable: fix dest or its permissions"
        )
    manifest = catalog.resolve(set_name, backup_id, before)
    archive = manifest["archive"]
    if os.path.isdir(dest):
        dest = os.path.join(dest, archive["key"].rsplit("/", 1)[-1])
    result = {
        "dest": dest,
        "backup_id": manifest["backup_id"],
        "manifest": manifest,
        "sha256": archive["sha256"],
    }
    if (
        os.path.isfile(dest)
        and os.path.getsize(dest) == archive["size"]
        and file_sha256(dest) == archive["sha256"]
    ):
        return {**result, "changed": False, "verified": True}
    if check_mode:
        return {**result, "changed": True, "verified": False}
    for leftover in glob.glob(
        os.path.join(glob.escape(directory), f".{glob.escape(os.path.basename(dest))}.*.part")
    ):
        remove_quietly(
            leftover
        )  # a get of the same dest that was killed; a get writes only its own part file
    stream = catalog.download_stream(manifest)
    try:
        handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - renamed or removed below
            dir=directory, prefix=f".{os.path.basename(dest)}.", suffix=".part", delete=False
        )
    except OSError as exc:
        stream.close()
        raise OffsiteError(
            f"cannot write into {directory!r} ({exc.strerror}): fix dest or its permissions"
        ) from None
    try:
        with handle:
            for chunk in stream.iter_chunks():
                handle.write(chunk)
        os.replace(handle.name, dest)
    except OSError as exc:
        stream.close()
        remove_quietly(handle.name)
        raise OffsiteError(
            f"writing {dest!r} failed ({exc.strerror}): nothing was kept; free space or fix dest and run again"
        ) from None
    except BaseException:
        stream.close()
        remove_quietly(handle.name)
        raise
    return {**result, "changed": True, "verified": stream.verified}


# -- delete ---------------------------------------------------------------------------------------
def delete_backup(
    catalog: Catalog, set_name: str, backup_id: str, check_mode: bool = False
) -> Dict[str, Any]:
    """Delete one backup (manifest first); a backup that is not there is ``changed: false``."""
    listings = catalog.scan(set_name, check_backup_id(backup_id))
    uploads = catalog.multipart_uploads(catalog.layout.backup_prefix(set_name, backup_id))
    return _delete(catalog, listings, uploads, check_mode)


def delete_set(catalog: Catalog, set_name: str, confirm: bool, check_mode: bool = False) -> Dict[str, Any]:
    """Delete every backup of ``set_name`` (needs ``confirm``), and abort its unfinished uploads."""
    if not confirm:
        raise OffsiteError(
            f"deleting every backup of set {set_name} needs confirm_delete_all: true "
            "(or give backup_id to delete one backup)"
        )
    listings = catalog.scan(set_name)
    uploads = catalog.multipart_uploads(catalog.layout.set_prefix(set_name))
    return _delete(catalog, listings, uploads, check_mode)


def _delete(
    catalog: Catalog, listings: Sequence[Any], uploads: Sequence[Mapping[str, Any]], check_mode: bool
) -> Dict[str, Any]:
    keys = [obj["Key"] for listing in listings for obj in listing.objects]
    if not check_mode:
        catalog.delete_backups(listings)
        catalog.abort_uploads(uploads)
    return {
        "changed": bool(keys or uploads),
        "deleted": [listing.backup_id for listing in listings],
        "deleted_keys": keys,
        "aborted_uploads": [upload_summary(u) for u in uploads],
    }


# -- prune ----------------------------------------------------------------------------------------
def prune_set(
    catalog: Catalog,
    set_name: str,
    policy: Policy,
    abandoned_after: Optional[timedelta] = None,
    *,
    check_mode: bool = False,
    now: Optional[datetime] = None,
) -> Dict[str, Any]:
    """Apply ``policy`` to a set; returns what was kept and removed (each with its rule)."""
    moment = to_utc(now or utc_now())
    listings = catalog.scan(set_name)
    candidates = [Candidate(b.backup_id, b.time, b.complete, b.last_modified) for b in listings]
    decisions = apply_policy(candidates, policy, moment, abandoned_after)
    by_id = {b.backup_id: b for b in listings}
    removed = [d for d in decisions if not d.keep]
    # A complete-looking backup whose manifest cannot be read is not known to be ours: keep it, say so.
    unreadable = catalog.load_manifests([by_id[d.backup_id] for d in removed if by_id[d.backup_id].complete])
    damaged = {
        key.split("/", 1)[1]: str(value)
        for key, value in unreadable.items()
        if isinstance(value, OffsiteError)
    }
    removed = [d for d in removed if d.backup_id not in damaged]
    uploads: List[Dict[str, Any]] = []
    if abandoned_after is not None:
        uploads = [
            u
            for u in catalog.multipart_uploads(catalog.layout.set_prefix(set_name))
            if moment - to_utc(u["Initiated"]) > abandoned_after
        ]
    if not check_mode:
        catalog.delete_backups([by_id[d.backup_id] for d in removed])
        catalog.abort_uploads(uploads)
    foreign = list(catalog.foreign_keys)
    oplog = prune_oplog(catalog, set_name, {d.backup_id for d in decisions if d.keep}, check_mode)
    return {
        "changed": bool(removed or uploads or oplog["removed_slices"] or oplog["removed_gaps"]),
        "kept": [{"backup_id": d.backup_id, "reasons": d.reasons} for d in decisions if d.keep],
        "removed": [{"backup_id": d.backup_id, "reason": d.reasons[0]} for d in removed],
        "aborted_uploads": [upload_summary(u) for u in uploads],
        "foreign_keys": foreign,
        "unreadable": [
            {"backup_id": backup_id, "problem": problem} for backup_id, problem in damaged.items()
        ],
        "oplog": oplog,
    }


def upload_summary(upload: Mapping[str, Any]) -> Dict[str, Any]:
    """An unfinished multipart upload as results show it."""
    return {
        "key": upload["Key"],
        "upload_id": upload["UploadId"],
        "initiated": format_time(upload["Initiated"]),
    }
