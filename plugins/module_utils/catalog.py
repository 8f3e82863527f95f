"""The S3 backup catalog as domain objects: backups listed from keys, manifests, uploads, downloads, deletes.

The manifest is written last, so a backup without one is incomplete: listed as such, never chosen
as ``latest``, removed by retention. Nothing is overwritten. Deletion removes manifests first, so an
interrupted delete leaves incomplete backups, never a broken complete one. Result shapes for the
modules are built in ``_tasks.catalog``, not here.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

from ansible_collections.offsite.mongodb.plugins.module_utils.backup_id import (
    backup_time,
    check_backup_id,
    check_set_name,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.catalog_layout import (
    CatalogLayout,
    compression_of,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.manifest import (
    MANIFEST_NAME,
    build_manifest,
    check_sha256,
    dump_manifest,
    parse_manifest,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.s3_connection import (
    MISSING_KEY_ERRORS,
    check_bucket_name,
    error_code,
    s3_errors,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.s3_download import DownloadStream
from ansible_collections.offsite.mongodb.plugins.module_utils.s3_upload import (
    DEFAULT_PART_SIZE,
    UploadResult,
    UploadStream,
    abort_with_retry,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.storage_options import StorageOptions
from ansible_collections.offsite.mongodb.plugins.module_utils.times import format_time, to_utc, utc_now

LIST_HINT = (
    "the list playbook (offsite.mongodb.list) or offsite.mongodb.s3_backup_archive_info shows the catalog"
)


@dataclass
class BackupListing:
    """One backup directory as the object listing shows it (no manifest read yet)."""

    set_name: str
    backup_id: str
    objects: List[Dict[str, Any]] = field(default_factory=list)

    @property
    def time(self) -> datetime:
        return backup_time(self.backup_id)

    @property
    def manifest_keys(self) -> List[str]:
        return [obj["Key"] for obj in self.objects if obj["Key"].rsplit("/", 1)[-1] == MANIFEST_NAME]

    @property
    def complete(self) -> bool:
        return bool(self.manifest_keys)

    @property
    def size(self) -> int:
        return sum(obj["Size"] for obj in self.objects if obj["Key"] not in self.manifest_keys)

    @property
    def last_modified(self) -> Optional[datetime]:
        times = [obj["LastModified"] for obj in self.objects if obj.get("LastModified")]
        return max(times) if times else None


class Catalog:
    """The catalog in one bucket under one prefix, on a boto3 S3 client."""

    def __init__(
        self,
        client: Any,
        bucket: str,
        prefix: Optional[str] = "mongodb-backups",
        *,
        expected_bucket_owner: Optional[str] = None,
        storage: Optional[StorageOptions] = None,
        part_size: int = DEFAULT_PART_SIZE,
        max_concurrency: int = 4,
        secrets: Sequence[str] = (),
    ) -> None:
        self.client = client
        self.bucket = check_bucket_name(bucket)
        self.layout = CatalogLayout(prefix)
        self.owner = {"ExpectedBucketOwner": expected_bucket_owner} if expected_bucket_owner else {}
        self.storage = (storage or StorageOptions()).check()
        self.part_size = int(part_size or DEFAULT_PART_SIZE)
        self.max_concurrency = max(1, int(max_concurrency or 1))
        self.secrets = tuple(secrets)
        self.foreign_keys: List[str] = []  # keys under the prefix that are not of the layout (last scan)
        self.oplog_objects: List[Dict[str, Any]] = []  # oplog slice and gap objects (last scan)

    @property
    def where(self) -> str:
        return f"s3://{self.bucket}/{self.layout.set_prefix()}"

    def errors(self, action: str, key: Optional[str] = None) -> Any:
        """A context that turns S3 failures during ``action`` into one-line errors."""
        return s3_errors(self.client, action, self.bucket, key, self.secrets)

    # -- reading the catalog --------------------------------------------------------------------
    def scan(self, set_name: Optional[str] = None, backup_id: Optional[str] = None) -> List[BackupListing]:
        """Backup directories under the prefix (or one set, or one backup), newest first; foreign keys noted."""
        layout = self.layout
        prefix = layout.backup_prefix(set_name, backup_id) if backup_id else layout.set_prefix(set_name)
        listings: Dict[tuple, BackupListing] = {}
        self.foreign_keys = []
        self.oplog_objects = []
        with self.errors("list the backups", prefix):
            paginator = self.client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix, **self.owner):
                for obj in page.get("Contents", []):
                    key = layout.parse(obj["Key"])
                    if key is None and layout.parse_slice(obj["Key"]) is not None:
                        self.oplog_objects.append(obj)  # archived oplog: see oplog_catalog
                        continue
                    if key is None:
                        self.foreign_keys.append(obj["Key"])  # not ours: reported, never touched
                        continue
                    listing = listings.setdefault(
                        (key.set_name, key.backup_id), BackupListing(key.set_name, key.backup_id)
                    )
                    listing.objects.append(obj)
        return sorted(listings.values(), key=lambda b: (b.time, b.backup_id), reverse=True)

    def load_manifest(self, set_name: str, backup_id: str) -> Dict[str, Any]:
        """The stored manifest of one backup (validated)."""
        key = self.layout.manifest_key(set_name, backup_id)
        with self.errors("read the manifest", key):
            try:
                data = self.client.get_object(Bucket=self.bucket, Key=key, **self.owner)["Body"].read()
            except Exception as exc:
                if error_code(exc) in MISSING_KEY_ERRORS:
                    raise OffsiteError(
                        f"backup {backup_id} of set {set_name} has no manifest: it is incomplete; "
                        f"choose a complete backup ({LIST_HINT})"
                    ) from None
                raise
        return parse_manifest(data, f"s3://{self.bucket}/{key}")

    def load_manifests(
        self, listings: Sequence[BackupListing]
    ) -> Dict[str, Union[Dict[str, Any], OffsiteError]]:
        """Manifests of the complete listings by ``set/backup_id``, read in parallel; a bad one is its error."""

        def load(listing: BackupListing) -> Union[Dict[str, Any], OffsiteError]:
            try:
                return self.load_manifest(listing.set_name, listing.backup_id)
            except OffsiteError as exc:
                return exc

        complete = [listing for listing in listings if listing.complete]
        with ThreadPoolExecutor(max_workers=8) as pool:
            loaded = list(pool.map(load, complete))
        return {f"{b.set_name}/{b.backup_id}": manifest for b, manifest in zip(complete, loaded)}

    def resolve(
        self, set_name: str, backup_id: Optional[str] = "latest", before: Optional[datetime] = None
    ) -> Dict[str, Any]:
        """The manifest of ``backup_id``, or of the newest complete backup (before ``before``)."""
        check_set_name(set_name)
        if backup_id and backup_id != "latest":
            check_backup_id(backup_id)
            if not self.scan(set_name, backup_id):
                raise OffsiteError(
                    f"backup {backup_id} does not exist in set {set_name} under {self.where}: {LIST_HINT}"
                )
            return self.load_manifest(set_name, backup_id)
        for listing in self.scan(set_name):
            if listing.complete and (before is None or listing.time < to_utc(before)):
                return self.load_manifest(set_name, listing.backup_id)
        when = f" before {format_time(before)}" if before else ""
        raise OffsiteError(
            f"set {set_name} has no complete backup{when} under {self.where}: "
            f"check bucket, prefix and set_name ({LIST_HINT})"
        )

    # -- writing --------------------------------------------------------------------------------
    def open_upload(
        self,
        set_name: str,
        backup_id: str,
        compression: Optional[str] = None,
        *,
        size: Optional[int] = None,
        expected_sha256: Optional[str] = None,
        now: Optional[datetime] = None,
        max_concurrency: Optional[int] = None,
    ) -> UploadStream:
        """A writable stream to the backup's archive object; ``commit`` writes its manifest afterwards.

        ``max_concurrency`` lowers the catalog's parts in flight for this upload (a memory budget).
        """
        key = self.layout.archive_key(set_name, backup_id, compression)
        args = {**self.storage.object_args(now or utc_now()), **self.owner}
        return UploadStream(
            self.client,
            self.bucket,
            key,
            extra_args=args,
            part_size=self.part_size,
            max_concurrency=min(self.max_concurrency, max_concurrency or self.max_concurrency),
            size=size,
            expected_sha256=check_sha256(expected_sha256),
            secrets=self.secrets,
        )

    def commit(
        self,
        set_name: str,
        backup_id: str,
        upload: UploadResult,
        *,
        metadata: Optional[Mapping[str, Any]] = None,
        labels: Optional[Mapping[str, Any]] = None,
        compression: Optional[str] = None,
        now: Optional[datetime] = None,
    ) -> Dict[str, Any]:
        """Write the manifest of an uploaded archive (last: this makes the backup complete)."""
        moment = now or utc_now()
        archive = {
            "key": upload.key,
            "size": upload.size,
            "sha256": upload.sha256,
            "etag": upload.etag,
            "parts": upload.parts,
            "version_id": upload.version_id,
            "storage_class": self.storage.storage_class or "STANDARD",
            "compression": compression or compression_of(upload.key),
        }
        lock = None
        if self.storage.object_lock_mode:
            lock = {
                "mode": self.storage.object_lock_mode,
                "retain_until": format_time(self.storage.retain_until(moment)),
            }
        manifest = build_manifest(
            backup_id=check_backup_id(backup_id),
            set_name=check_set_name(set_name),
            created=format_time(moment),
            archive=archive,
            metadata=metadata,
            labels=labels,
            encryption=self.storage.encryption_record(),
            object_lock=lock,
        )
        key = self.layout.manifest_key(set_name, backup_id)
        args = {**self.storage.object_args(moment, archive=False), **self.owner}
        with self.errors("write the manifest", key):
            self.client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=dump_manifest(manifest),
                ContentType="application/json",
                **args,
            )
        return manifest

    # -- reading archives -----------------------------------------------------------------------
    def download_stream(self, manifest: Mapping[str, Any]) -> DownloadStream:
        """A readable stream of the backup's archive, its SHA-256 checked at the end."""
        archive = manifest["archive"]
        key = archive["key"]
        with self.errors("read the archive", key):
            try:
                head = self.client.head_object(Bucket=self.bucket, Key=key, **self.owner)
            except Exception as exc:
                if error_code(exc) in MISSING_KEY_ERRORS:
                    raise OffsiteError(
                        f"the archive s3://{self.bucket}/{key} of backup {manifest['backup_id']} is missing: "
                        "the backup is damaged; restore another backup"
                    ) from None
                raise
        return DownloadStream(
            self.client,
            self.bucket,
            key,
            size=archive["size"],
            expected_sha256=archive["sha256"],
            part_size=self.part_size,
            max_concurrency=self.max_concurrency,
            etag=head.get("ETag"),
            extra_args=self.owner,
            secrets=self.secrets,
        )

    # -- deleting -------------------------------------------------------------------------------
    def delete_backups(self, listings: Sequence[BackupListing]) -> None:
        """Delete the listed backups: every manifest first, then the other objects."""
        manifests = [key for listing in listings for key in listing.manifest_keys]
        others = [obj["Key"] for b in listings for obj in b.objects if obj["Key"] not in manifests]
        self._delete_keys(manifests)  # first: a half-done delete leaves incomplete backups only
        self._delete_keys(others)

    def _delete_keys(self, keys: Sequence[str]) -> None:
        for start in range(0, len(keys), 1000):
            batch = keys[start : start + 1000]
            with self.errors("delete backups", batch[0]):
                response = self.client.delete_objects(
                    Bucket=self.bucket,
                    Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True},
                    **self.owner,
                )
            errors = response.get("Errors") or []
            if errors:
                first = errors[0]
                raise OffsiteError(
                    f"S3 refused to delete {len(errors)} object(s), e.g. {first.get('Key')} "
                    f"({first.get('Code')}: {first.get('Message')}): check the credentials' s3:DeleteObject "
                    "permission and object-lock retention"
                )

    # -- unfinished multipart uploads -----------------------------------------------------------
    def multipart_uploads(self, prefix: str) -> List[Dict[str, Any]]:
        """Unfinished multipart uploads under ``prefix``."""
        uploads: List[Dict[str, Any]] = []
        with self.errors("list unfinished uploads", prefix):
            paginator = self.client.get_paginator("list_multipart_uploads")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix, **self.owner):
                uploads.extend(page.get("Uploads", []))
        return uploads

    def stale_uploads(
        self, set_name: str, idle: timedelta, now: Optional[datetime] = None
    ) -> List[Dict[str, Any]]:
        """Unfinished uploads of a set that nothing has touched for ``idle``: left by runs that died.

        A running backup sends a part every few seconds, so its upload is never idle that long; an
        upload's last touch is its newest part (or its start, before the first part).
        """
        moment = to_utc(now or utc_now())
        stale = []
        for upload in self.multipart_uploads(self.layout.set_prefix(set_name)):
            touched = to_utc(upload["Initiated"])
            with self.errors("list the parts of an unfinished upload", upload["Key"]):
                try:
                    parts = self.client.list_parts(
                        Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"], **self.owner
                    ).get("Parts", [])
                except Exception as exc:
                    if error_code(exc) == "NoSuchUpload":
                        continue  # finished or aborted meanwhile
                    raise
            touched = max([touched, *(to_utc(part["LastModified"]) for part in parts)])
            if moment - touched > idle:
                stale.append(upload)
        return stale

    def abort_uploads(self, uploads: Sequence[Mapping[str, Any]]) -> None:
        """Abort unfinished uploads (retried with backoff); one that finished or went meanwhile is fine."""
        for upload in uploads:
            with self.errors("abort an unfinished upload", upload["Key"]):
                abort_with_retry(
                    self.client, self.bucket, upload["Key"], upload["UploadId"], owner=self.owner
                )
