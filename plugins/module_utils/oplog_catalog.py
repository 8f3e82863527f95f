"""The archived oplog of a set in the catalog: slices and gap markers listed, read, written and deleted.

Layout in ``catalog_layout`` (``<prefix>/<set>/oplog/<first>-<last>/``). A slice folder without
``manifest.json`` is incomplete (a run killed between the object and its manifest): it is never
used, and the next archiving run or a prune removes it. Deletion removes manifests first.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Dict, List, Mapping, Optional, Sequence

from ansible_collections.offsite.mongodb.plugins.module_utils.catalog import Catalog
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.manifest import dump_manifest
from ansible_collections.offsite.mongodb.plugins.module_utils.oplog_slices import (
    Gap,
    Slice,
    parse_gap,
    parse_slice_manifest,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.oplog_time import OplogTime
from ansible_collections.offsite.mongodb.plugins.module_utils.oplog_windows import Base, base_from_manifest
from ansible_collections.offsite.mongodb.plugins.module_utils.s3_download import DownloadStream
from ansible_collections.offsite.mongodb.plugins.module_utils.s3_upload import UploadStream
from ansible_collections.offsite.mongodb.plugins.module_utils.times import format_time, utc_now


@dataclass
class OplogListing:
    """What one listing of a set found: slice folders by name (with their objects), gap marker keys, bases."""

    folders: Dict[str, List[Dict[str, Any]]] = field(default_factory=dict)
    gap_keys: List[str] = field(default_factory=list)
    base_manifests: Dict[str, Any] = field(default_factory=dict)

    def manifest_key(self, folder: str) -> Optional[str]:
        return next((o["Key"] for o in self.folders[folder] if o["Key"].endswith("/manifest.json")), None)

    @property
    def complete(self) -> List[str]:
        return [name for name in sorted(self.folders) if self.manifest_key(name)]

    @property
    def incomplete(self) -> List[str]:
        return [name for name in sorted(self.folders) if not self.manifest_key(name)]


class OplogCatalog:
    """The oplog part of a ``Catalog`` for one set."""

    def __init__(self, catalog: Catalog, set_name: str) -> None:
        self.catalog = catalog
        self.set_name = set_name
        self.layout = catalog.layout

    # -- reading --------------------------------------------------------------------------------
    def list(self, with_bases: bool = True) -> OplogListing:
        """One listing of the set: oplog folders and gap markers; with ``with_bases`` the backups' manifests."""
        listings = self.catalog.scan(self.set_name)
        result = OplogListing()
        for obj in self.catalog.oplog_objects:
            key = self.layout.parse_slice(obj["Key"])
            if key is None or key.set_name != self.set_name:
                continue
            if key.is_gap:
                result.gap_keys.append(obj["Key"])
            else:
                result.folders.setdefault(key.folder, []).append(obj)
        if with_bases:
            result.base_manifests = self.catalog.load_manifests(listings)
        return result

    def bases(self, listing: OplogListing) -> List[Base]:
        """The complete ``consistency: oplog`` backups (damaged manifests are left out)."""
        found = [base_from_manifest(m) for m in listing.base_manifests.values() if isinstance(m, dict)]
        return [b for b in found if b is not None]

    def _read(self, key: str, action: str) -> bytes:
        with self.catalog.errors(action, key):
            return self.catalog.client.get_object(Bucket=self.catalog.bucket, Key=key, **self.catalog.owner)[
                "Body"
            ].read()

    def slices(self, listing: OplogListing, folders: Optional[Sequence[str]] = None) -> List[Slice]:
        """The complete slices (all, or of ``folders``), oldest first, manifests read in parallel."""
        wanted = [
            name
            for name in (folders if folders is not None else listing.complete)
            if listing.manifest_key(name)
        ]
        keys = [listing.manifest_key(name) for name in wanted]

        def load(key: str) -> Slice:
            return parse_slice_manifest(
                self._read(key, "read an oplog slice manifest"), f"s3://{self.catalog.bucket}/{key}", key
            )

        with ThreadPoolExecutor(max_workers=16) as pool:
            return sorted(pool.map(load, keys), key=lambda s: (s.first, s.last))

    def newest_slice(self, listing: OplogListing) -> Optional[Slice]:
        complete = listing.complete
        return self.slices(listing, complete[-1:])[0] if complete else None

    def gaps(self, listing: OplogListing) -> List[Gap]:
        return [
            parse_gap(self._read(key, "read an oplog gap marker"), f"s3://{self.catalog.bucket}/{key}", key)
            for key in listing.gap_keys
        ]

    def download(self, piece: Slice) -> DownloadStream:
        """A verified stream of one slice's object."""
        obj = piece.object
        return DownloadStream(
            self.catalog.client, self.catalog.bucket, obj["key"], size=obj["size"], expected_sha256=obj["sha256"],
            part_size=self.catalog.part_size, max_concurrency=self.catalog.max_concurrency,
            extra_args=self.catalog.owner, secrets=self.catalog.secrets,
        )  # fmt: skip

    # -- writing --------------------------------------------------------------------------------
    def open_upload(self, first: OplogTime, last: OplogTime, compression: str, now: datetime) -> UploadStream:
        """A stream to a new slice's object (its manifest is written by ``commit``)."""
        catalog = self.catalog
        return UploadStream(
            catalog.client, catalog.bucket, self.layout.slice_key(self.set_name, first, last, compression),
            extra_args={**catalog.storage.object_args(now), **catalog.owner}, part_size=catalog.part_size,
            max_concurrency=catalog.max_concurrency, secrets=catalog.secrets,
        )  # fmt: skip

    def object_lock(self, now: datetime) -> Optional[Dict[str, str]]:
        storage = self.catalog.storage
        if not storage.object_lock_mode:
            return None
        return {"mode": storage.object_lock_mode, "retain_until": format_time(storage.retain_until(now))}

    def _put_json(self, key: str, body: bytes, action: str, now: datetime) -> None:
        args = {**self.catalog.storage.object_args(now, archive=False), **self.catalog.owner}
        with self.catalog.errors(action, key):
            self.catalog.client.put_object(
                Bucket=self.catalog.bucket, Key=key, Body=body, ContentType="application/json", **args
            )

    def commit(self, first: OplogTime, last: OplogTime, manifest: Mapping[str, Any], now: datetime) -> str:
        """Write a slice's manifest (last: this makes the slice part of the catalog)."""
        key = self.layout.slice_manifest_key(self.set_name, first, last)
        self._put_json(key, dump_manifest(manifest), "write an oplog slice manifest", now)
        return key

    def record_gap(self, after: OplogTime, resume: OplogTime, body: bytes) -> str:
        key = self.layout.gap_key(self.set_name, after, resume)
        self._put_json(key, body, "record an oplog gap", utc_now())
        return key

    # -- cleaning up ----------------------------------------------------------------------------
    def delete(self, manifest_keys: Sequence[str], other_keys: Sequence[str]) -> None:
        """Delete manifests first, then the rest: an interrupted delete leaves incomplete folders only."""
        self.catalog._delete_keys(list(manifest_keys))
        self.catalog._delete_keys(list(other_keys))

    def stale_uploads(self, started: datetime) -> List[Dict[str, Any]]:
        """Unfinished multipart uploads of slices begun before ``started`` (killed runs)."""
        uploads = self.catalog.multipart_uploads(self.layout.oplog_prefix(self.set_name))
        return [u for u in uploads if u["Initiated"] < started]


def folder_keys(listing: OplogListing, folders: Sequence[str]) -> List[str]:
    return [obj["Key"] for name in folders for obj in listing.folders.get(name, [])]


def require_set(set_name: Optional[str]) -> str:
    if not set_name:
        raise OffsiteError("set_name is required: the replica set whose oplog is archived")
    return set_name
