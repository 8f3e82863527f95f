"""The archived oplog of each set as ``s3_backup_archive_info`` shows it: recoverable windows and gaps."""

from __future__ import annotations

from typing import Any, Dict, Iterable

from ansible_collections.offsite.mongodb.plugins.module_utils.catalog import Catalog
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.oplog_catalog import OplogCatalog, OplogListing
from ansible_collections.offsite.mongodb.plugins.module_utils.oplog_windows import (
    chains,
    gaps,
    window_summaries,
    windows,
)


def oplog_sets(catalog: Catalog) -> Iterable[str]:
    """The sets the last scan found archived oplog objects for."""
    keys = (catalog.layout.parse_slice(obj["Key"]) for obj in catalog.oplog_objects)
    return sorted({key.set_name for key in keys if key is not None})


def describe(oplog: OplogCatalog, listing: OplogListing) -> Dict[str, Any]:
    """Windows (from a base backup's end to the end of its chain), gaps, and the slices' extent."""
    slices = oplog.slices(listing)
    all_chains = chains(slices)
    return {
        "windows": window_summaries(windows(oplog.bases(listing), all_chains)),
        "gaps": gaps(all_chains, oplog.gaps(listing)),
        "slices": len(slices),
        "entries": sum(s.count for s in slices),
        "first": slices[0].first.summary() if slices else None,
        "last": max(s.last for s in slices).summary() if slices else None,
        "incomplete": listing.incomplete,
    }


def oplog_overview(catalog: Catalog, set_names: Iterable[str]) -> Dict[str, Dict[str, Any]]:
    """``{set: description}`` for the sets with an archived oplog; a damaged one says its problem."""
    result: Dict[str, Dict[str, Any]] = {}
    for set_name in set_names:
        oplog = OplogCatalog(catalog, set_name)
        try:
            result[set_name] = describe(oplog, oplog.list())
        except OffsiteError as exc:
            result[set_name] = {"problem": str(exc)}
    return result
