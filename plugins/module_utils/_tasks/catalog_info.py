"""The ``s3_backup_archive_info`` task: the catalog, newest first, one summary per backup."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Dict, List, Mapping, Optional, Union

from ansible_collections.offsite.mongodb.plugins.module_utils._tasks.catalog_options import (
    catalog_from_options,
)
from ansible_collections.offsite.mongodb.plugins.module_utils._tasks.oplog_overview import (
    oplog_overview,
    oplog_sets,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.backup_id import (
    check_set_name,
    parse_catalog_time,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.catalog import BackupListing, Catalog
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.times import format_time, to_utc


def list_catalog(params: Mapping[str, Any]) -> Dict[str, Any]:
    """The module result: ``backups`` (newest first) and ``foreign_keys`` (objects under the prefix not ours)."""
    set_name = params.get("set_name")
    if set_name:
        check_set_name(set_name)
    since = parse_catalog_time(params["since"], "since") if params.get("since") else None
    until = parse_catalog_time(params["until"], "until") if params.get("until") else None
    catalog = catalog_from_options(params)
    backups = summaries(catalog, set_name, since, until)
    foreign = list(catalog.foreign_keys)
    oplog = oplog_overview(catalog, [set_name] if set_name else oplog_sets(catalog))
    return {"changed": False, "backups": backups, "foreign_keys": foreign, "oplog": oplog}


def summaries(
    catalog: Catalog,
    set_name: Optional[str] = None,
    since: Optional[datetime] = None,
    until: Optional[datetime] = None,
) -> List[Dict[str, Any]]:
    """One summary per backup, newest first; incomplete and damaged ones say so."""
    listings = [
        b
        for b in catalog.scan(set_name)
        if (since is None or b.time >= to_utc(since)) and (until is None or b.time <= to_utc(until))
    ]
    manifests = catalog.load_manifests(listings)
    return [backup_summary(catalog, b, manifests.get(f"{b.set_name}/{b.backup_id}")) for b in listings]


def backup_summary(
    catalog: Catalog, listing: BackupListing, manifest: Union[Dict[str, Any], OffsiteError, None]
) -> Dict[str, Any]:
    """A backup as ``list`` shows it: complete or not, size, digest, namespaces, consistency."""
    summary: Dict[str, Any] = {
        "backup_id": listing.backup_id,
        "set_name": listing.set_name,
        "created": format_time(listing.time),
        "complete": isinstance(manifest, dict),
        "size": listing.size,
        "sha256": None,
        "namespaces": [],
        "labels": {},
        "archive_key": None,
        "manifest_key": catalog.layout.manifest_key(listing.set_name, listing.backup_id)
        if listing.complete
        else None,
        "last_modified": format_time(listing.last_modified) if listing.last_modified else None,
    }
    if isinstance(manifest, dict):
        archive = manifest["archive"]
        namespaces = manifest.get("namespaces") or []
        consistency = manifest.get("consistency") or {}
        summary.update(
            documents=sum(int(ns.get("documents") or 0) for ns in namespaces),
            size=archive["size"],
            sha256=archive["sha256"],
            archive_key=archive["key"],
            namespaces=namespaces,
            labels=manifest.get("labels") or {},
            consistency=consistency.get("mode"),
            writes_held_seconds=consistency.get("writes_held_seconds"),
            compression=archive.get("compression"),
        )
    elif isinstance(manifest, OffsiteError):
        summary["problem"] = str(manifest)
    return summary
