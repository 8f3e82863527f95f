"""Retention for the archived oplog of a set: what ``s3_backup_archive mode=prune`` does after the backups.

Keeps every slice needed to reach any point from the oldest kept base backup to now (and always the
newest slice, where the archiver goes on); deletes older slices, gap markers wholly before that base,
and slice folders left without a manifest. The result shows the windows that remain.
"""

from __future__ import annotations

from typing import Any, Collection, Dict

from ansible_collections.offsite.mongodb.plugins.module_utils.catalog import Catalog
from ansible_collections.offsite.mongodb.plugins.module_utils.oplog_catalog import OplogCatalog, folder_keys
from ansible_collections.offsite.mongodb.plugins.module_utils.oplog_windows import (
    chains,
    gaps_to_delete,
    slices_to_keep,
    window_summaries,
    windows,
)


def prune_oplog(
    catalog: Catalog, set_name: str, kept_ids: Collection[str], check_mode: bool
) -> Dict[str, Any]:
    """Delete the slices no kept backup needs; returns what was removed and the windows that remain."""
    oplog = OplogCatalog(catalog, set_name)
    listing = oplog.list()
    if not listing.folders and not listing.gap_keys:
        return {"removed_slices": [], "removed_gaps": [], "removed_incomplete": [], "windows": []}
    kept_bases = [b for b in oplog.bases(listing) if b.backup_id in kept_ids]
    keep, delete = slices_to_keep(oplog.slices(listing), kept_bases)
    stale_gaps = gaps_to_delete(oplog.gaps(listing), kept_bases)
    folders = [f"{s.first.name}-{s.last.name}" for s in delete]
    if not check_mode:
        oplog.delete(
            [s.manifest_key for s in delete],
            [k for k in folder_keys(listing, folders) if not k.endswith("/manifest.json")],
        )
        oplog.delete([g.key for g in stale_gaps], folder_keys(listing, listing.incomplete))
    return {
        "removed_slices": folders,
        "removed_gaps": [g.key for g in stale_gaps],
        "removed_incomplete": listing.incomplete,
        "windows": window_summaries(windows(kept_bases, chains(keep))),
    }
