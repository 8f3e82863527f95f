"""The S3 backup catalog: ``<prefix>/<set_name>/<backup_id>/`` holds the archive, then ``manifest.json``.

The manifest is written last, so a backup without one is incomplete: listed as such, never chosen
as ``latest``, removed by ``prune``. Nothing is overwritten: a stored backup with another archive
is an error, and a failed upload is aborted before any manifest exists. Deletion removes the
manifest first, so an interrupted delete leaves an incomplete backup, never a broken complete one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ansible_collections.offsite.mongodb.plugins.module_utils.archive_file import file_sha256
from ansible_collections.offsite.mongodb.plugins.module_utils.backup_id import (
    BACKUP_ID,
    backup_time,
    check_backup_id,
    check_set_name,
    format_time,
    new_backup_id,
    parse_time,
    to_utc,
    utc_now,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.manifest import (
    MANIFEST_NAME,
    build_manifest,
    check_sha256,
    dump_manifest,
    parse_manifest,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.retention import Candidate, Policy, apply_policy
from ansible_collections.offsite.mongodb.plugins.module_utils.s3 import (
    check_bucket_name,
    error_code,
    make_client,
    s3_errors,
    s3_options,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.s3_download import DownloadStream
from ansible_collections.offsite.mongodb.plugins.module_utils.upload_stream import (
    DEFAULT_PART_SIZE,
    UploadResult,
    UploadStream,
)

ARCHIVE_NAMES = {"gzip": "mongodump.archive.gz", "zstd": "mongodump.archive.zst", "none": "mongodump.archive"}
ENCRYPTION_MODES = ("none", "AES256", "aws:kms")
LOCK_MODES = ("GOVERNANCE", "COMPLIANCE")
READ_BLOCK = 8 * 1024 * 1024


@dataclass(frozen=True)
class StorageOptions:
    """How objects are stored: server-side encryption, storage class, tags, object-lock retention."""

    encryption: Optional[str] = None
    kms_key_id: Optional[str] = None
    storage_class: Optional[str] = None
    tags: Optional[Mapping[str, Any]] = None
    object_lock_mode: Optional[str] = None
    object_lock_days: Optional[int] = None

    def check(self) -> StorageOptions:
        """``self`` when consistent, else a one-line error."""
        if self.encryption not in (None, *ENCRYPTION_MODES):
            raise OffsiteError(
                f"encryption must be one of {', '.join(ENCRYPTION_MODES)}, got {self.encryption!r}"
            )
        if self.kms_key_id and self.encryption != "aws:kms":
            raise OffsiteError("kms_key_id needs encryption: aws:kms")
        if self.object_lock_mode not in (None, *LOCK_MODES):
            raise OffsiteError(
                f"object_lock_mode must be GOVERNANCE or COMPLIANCE, got {self.object_lock_mode!r}"
            )
        if bool(self.object_lock_mode) != bool(self.object_lock_days):
            raise OffsiteError("set object_lock_mode and object_lock_days together")
        if self.object_lock_days is not None and self.object_lock_days < 0:
            raise OffsiteError("object_lock_days must be a positive number of days")
        return self

    def object_args(self, now: datetime, archive: bool = True) -> Dict[str, Any]:
        """Extra arguments for put_object / create_multipart_upload (the manifest keeps the default class)."""
        args: Dict[str, Any] = {}
        if self.encryption in ("AES256", "aws:kms"):
            args["ServerSideEncryption"] = self.encryption
            if self.kms_key_id:
                args["SSEKMSKeyId"] = self.kms_key_id
        if self.storage_class and archive:
            args["StorageClass"] = self.storage_class
        if self.tags:
            args["Tagging"] = urllib.parse.urlencode({str(k): str(v) for k, v in self.tags.items()})
        if self.object_lock_mode:
            args["ObjectLockMode"] = self.object_lock_mode
            args["ObjectLockRetainUntilDate"] = self.retain_until(now)
        return args

    def retain_until(self, now: datetime) -> datetime:
        return to_utc(now) + timedelta(days=int(self.object_lock_days or 0))

    def encryption_record(self) -> Dict[str, Any]:
        record: Dict[str, Any] = {"mode": self.encryption or "none"}
        if self.kms_key_id:
            record["kms_key_id"] = self.kms_key_id
        return record


@dataclass
class Entry:
    """One backup directory as the object listing shows it (no manifest read yet)."""

    set_name: str
    backup_id: str
    objects: List[Dict[str, Any]] = field(default_factory=list)

    @property
    def time(self) -> datetime:
        return backup_time(self.backup_id)

    @property
    def complete(self) -> bool:
        return any(obj["Key"].endswith("/" + MANIFEST_NAME) for obj in self.objects)

    @property
    def size(self) -> int:
        return sum(obj["Size"] for obj in self.objects if not obj["Key"].endswith("/" + MANIFEST_NAME))

    @property
    def last_modified(self) -> Optional[datetime]:
        times = [obj["LastModified"] for obj in self.objects if obj.get("LastModified")]
        return max(times) if times else None


class BackupStore:
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
        self.prefix = "/".join(part for part in str(prefix or "").split("/") if part)
        self.owner = {"ExpectedBucketOwner": expected_bucket_owner} if expected_bucket_owner else {}
        self.storage = (storage or StorageOptions()).check()
        self.part_size = int(part_size or DEFAULT_PART_SIZE)
        self.max_concurrency = max(1, int(max_concurrency or 1))
        self.secrets = tuple(secrets)

    # -- layout ---------------------------------------------------------------------------------
    def set_prefix(self, set_name: Optional[str] = None) -> str:
        parts = [self.prefix, check_set_name(set_name) if set_name else ""]
        return "/".join(part for part in parts if part) + "/" if any(parts) else ""

    def backup_prefix(self, set_name: str, backup_id: str) -> str:
        return f"{self.set_prefix(set_name)}{check_backup_id(backup_id)}/"

    def manifest_key(self, set_name: str, backup_id: str) -> str:
        return self.backup_prefix(set_name, backup_id) + MANIFEST_NAME

    def archive_key(self, set_name: str, backup_id: str, compression: Optional[str] = None) -> str:
        name = ARCHIVE_NAMES.get(str(compression or "none").lower(), ARCHIVE_NAMES["none"])
        return self.backup_prefix(set_name, backup_id) + name

    def _errors(self, action: str, key: Optional[str] = None) -> Any:
        return s3_errors(self.client, action, self.bucket, key, self.secrets)

    # -- reading the catalog --------------------------------------------------------------------
    def scan(self, set_name: Optional[str] = None, backup_id: Optional[str] = None) -> List[Entry]:
        """Backup directories under the prefix (or one set, or one backup), newest first."""
        root = self.set_prefix()
        prefix = self.backup_prefix(set_name, backup_id) if backup_id else self.set_prefix(set_name)
        entries: Dict[Tuple[str, str], Entry] = {}
        with self._errors("list the backups", prefix):
            paginator = self.client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix, **self.owner):
                for obj in page.get("Contents", []):
                    parts = obj["Key"][len(root) :].split("/")
                    if len(parts) != 3 or not BACKUP_ID.match(parts[1]) or not parts[2]:
                        continue  # not ours: never touched
                    entry = entries.setdefault((parts[0], parts[1]), Entry(parts[0], parts[1]))
                    entry.objects.append(obj)
        return sorted(entries.values(), key=lambda e: (e.time, e.backup_id), reverse=True)

    def load_manifest(self, set_name: str, backup_id: str) -> Dict[str, Any]:
        """The stored manifest of one backup (validated)."""
        key = self.manifest_key(set_name, backup_id)
        with self._errors("read the manifest", key):
            try:
                data = self.client.get_object(Bucket=self.bucket, Key=key, **self.owner)["Body"].read()
            except Exception as exc:
                if error_code(exc) in ("NoSuchKey", "404"):
                    raise OffsiteError(
                        f"backup {backup_id} of set {set_name} has no manifest: it is incomplete; "
                        "choose a complete backup (mode=list shows which)"
                    ) from None
                raise
        return parse_manifest(data, f"s3://{self.bucket}/{key}")

    def catalog(
        self,
        set_name: Optional[str] = None,
        since: Optional[datetime] = None,
        until: Optional[datetime] = None,
    ) -> List[Dict[str, Any]]:
        """The catalog, newest first: one summary per backup, incomplete ones marked."""
        entries = [
            e
            for e in self.scan(set_name)
            if (since is None or e.time >= to_utc(since)) and (until is None or e.time <= to_utc(until))
        ]
        complete = [e for e in entries if e.complete]
        with ThreadPoolExecutor(max_workers=8) as pool:
            manifests = dict(zip([id(e) for e in complete], pool.map(self._try_manifest, complete)))
        return [self._summary(e, manifests.get(id(e))) for e in entries]

    def _try_manifest(self, entry: Entry) -> Any:
        try:
            return self.load_manifest(entry.set_name, entry.backup_id)
        except OffsiteError as exc:
            return exc

    def _summary(self, entry: Entry, manifest: Any) -> Dict[str, Any]:
        summary: Dict[str, Any] = {
            "backup_id": entry.backup_id,
            "set_name": entry.set_name,
            "created": format_time(entry.time),
            "complete": isinstance(manifest, dict),
            "size": entry.size,
            "sha256": None,
            "namespaces": [],
            "labels": {},
            "archive_key": None,
            "manifest_key": self.manifest_key(entry.set_name, entry.backup_id) if entry.complete else None,
            "last_modified": format_time(entry.last_modified) if entry.last_modified else None,
        }
        if isinstance(manifest, dict):
            archive = manifest["archive"]
            namespaces = manifest.get("namespaces") or []
            summary.update(
                documents=sum(int(ns.get("documents") or 0) for ns in namespaces),
                size=archive["size"],
                sha256=archive["sha256"],
                archive_key=archive["key"],
                namespaces=namespaces,
                labels=manifest.get("labels") or {},
                consistency=(manifest.get("consistency") or {}).get("mode"),
                compression=archive.get("compression"),
            )
        elif isinstance(manifest, OffsiteError):
            summary["problem"] = str(manifest)
        return summary

    def resolve(
        self, set_name: str, backup_id: Optional[str] = "latest", before: Optional[datetime] = None
    ) -> Dict[str, Any]:
        """The manifest of ``backup_id``, or of the newest complete backup (before ``before``)."""
        check_set_name(set_name)
        if backup_id and backup_id != "latest":
            check_backup_id(backup_id)
            entries = self.scan(set_name, backup_id)
            if not entries:
                raise OffsiteError(
                    f"backup {backup_id} does not exist in set {set_name} under s3://{self.bucket}/{self.set_prefix()}: "
                    "use mode=list to see the backup ids"
                )
            return self.load_manifest(set_name, backup_id)
        for entry in self.scan(set_name):
            if entry.complete and (before is None or entry.time < to_utc(before)):
                return self.load_manifest(set_name, entry.backup_id)
        when = f" before {format_time(before)}" if before else ""
        raise OffsiteError(
            f"set {set_name} has no complete backup{when} under s3://{self.bucket}/{self.set_prefix()}: "
            "check bucket, prefix and set_name (mode=list shows the catalog)"
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
    ) -> UploadStream:
        """A writable stream to the backup's archive object; ``commit`` writes its manifest afterwards."""
        key = self.archive_key(set_name, backup_id, compression)
        args = {**self.storage.object_args(now or utc_now()), **self.owner}
        return UploadStream(
            self.client,
            self.bucket,
            key,
            extra_args=args,
            part_size=self.part_size,
            max_concurrency=self.max_concurrency,
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
        }
        archive["compression"] = compression or _compression_of(upload.key)
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
        key = self.manifest_key(set_name, backup_id)
        args = {**self.storage.object_args(moment, archive=False), **self.owner}
        with self._errors("write the manifest", key):
            self.client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=dump_manifest(manifest),
                ContentType="application/json",
                **args,
            )
        return manifest

    def put_file(
        self,
        set_name: str,
        src: str,
        backup_id: Optional[str] = None,
        *,
        metadata: Optional[Mapping[str, Any]] = None,
        labels: Optional[Mapping[str, Any]] = None,
        expected_sha256: Optional[str] = None,
        check_mode: bool = False,
        now: Optional[datetime] = None,
    ) -> Dict[str, Any]:
        """Store a local archive as one backup; the same archive already stored there is ``changed: false``."""
        check_set_name(set_name)
        meta = dict(metadata or {})
        expected = _agreed_sha256(
            check_sha256(expected_sha256), check_sha256(meta.get("sha256"), "metadata.sha256")
        )
        if not os.path.isfile(src):
            raise OffsiteError(f"src {src!r} is not a readable file: give the path of the archive to upload")
        size = os.path.getsize(src)
        compression = meta.get("compression") or _compression_of(src)
        explicit = bool(backup_id)
        if explicit:
            check_backup_id(backup_id)
        else:
            started = meta.get("started_at")
            backup_id = new_backup_id(parse_time(started, "metadata.started_at") if started else now)
        existing, file_sha = self._existing(set_name, backup_id, src, expected)
        if existing is not None and existing["archive"]["sha256"] != file_sha and not explicit:
            backup_id = f"{backup_id}-{file_sha[:8]}"
            existing, file_sha = self._existing(set_name, backup_id, src, expected)
        if existing is not None:
            if existing["archive"]["sha256"] == file_sha:
                return self._put_result(existing, changed=False)
            raise OffsiteError(
                f"backup {backup_id} of set {set_name} already holds another archive (SHA-256 "
                f"{existing['archive']['sha256']}): nothing was overwritten; choose another backup_id"
            )
        if check_mode:
            key = self.archive_key(set_name, backup_id, compression)
            return {
                "changed": True,
                "backup_id": backup_id,
                "archive_key": key,
                "manifest_key": self.manifest_key(set_name, backup_id),
                "size": size,
                "sha256": file_sha or expected,
                "manifest": {},
            }
        stream = self.open_upload(
            set_name, backup_id, compression, size=size, expected_sha256=expected, now=now
        )
        with stream, open(src, "rb") as handle:
            block = stream.fixed or READ_BLOCK  # whole parts: handed to S3 without a copy
            while True:
                chunk = handle.read(block)
                if not chunk:
                    break
                stream.write(chunk)
        manifest = self.commit(
            set_name, backup_id, stream.result, metadata=meta, labels=labels, compression=compression, now=now
        )
        return self._put_result(manifest, changed=True)

    def _existing(
        self, set_name: str, backup_id: str, src: str, expected: Optional[str]
    ) -> Tuple[Optional[Dict[str, Any]], Optional[str]]:
        """The manifest already stored as ``backup_id`` (None when incomplete or absent) and, then, src's digest."""
        entries = self.scan(set_name, backup_id)
        if not entries or not entries[0].complete:
            return None, expected
        manifest = self.load_manifest(set_name, backup_id)
        digest = file_sha256(src)
        if expected and digest != expected:
            raise OffsiteError(
                f"src {src!r} has SHA-256 {digest}, not the expected {expected}: nothing was stored; "
                "check the archive and the sha256 option"
            )
        return manifest, digest

    def _put_result(self, manifest: Dict[str, Any], changed: bool) -> Dict[str, Any]:
        return {
            "changed": changed,
            "backup_id": manifest["backup_id"],
            "archive_key": manifest["archive"]["key"],
            "manifest_key": self.manifest_key(manifest["set_name"], manifest["backup_id"]),
            "size": manifest["archive"]["size"],
            "sha256": manifest["archive"]["sha256"],
            "manifest": manifest,
        }

    # -- reading archives -----------------------------------------------------------------------
    def open_download(
        self, set_name: str, backup_id: Optional[str] = "latest", before: Optional[datetime] = None
    ) -> Tuple[DownloadStream, Dict[str, Any]]:
        """A readable stream of the archive (SHA-256 checked at EOF) and its manifest."""
        manifest = self.resolve(set_name, backup_id, before)
        return self.download_stream(manifest), manifest

    def download_stream(self, manifest: Mapping[str, Any]) -> DownloadStream:
        archive = manifest["archive"]
        key = archive["key"]
        with self._errors("read the archive", key):
            try:
                head = self.client.head_object(Bucket=self.bucket, Key=key, **self.owner)
            except Exception as exc:
                if error_code(exc) in ("NoSuchKey", "404"):
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

    def get_file(
        self,
        set_name: str,
        dest: str,
        backup_id: Optional[str] = "latest",
        before: Optional[datetime] = None,
        check_mode: bool = False,
    ) -> Dict[str, Any]:
        """Download a backup's archive to ``dest`` (a file, or a directory to put it in), verified."""
        manifest = self.resolve(set_name, backup_id, before)
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
        directory = os.path.dirname(os.path.abspath(dest))
        if not os.path.isdir(directory):
            raise OffsiteError(f"the directory of dest {dest!r} does not exist: create it or fix dest")
        stream = self.download_stream(manifest)
        handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - renamed or removed below
            dir=directory, prefix=f".{os.path.basename(dest)}.", suffix=".part", delete=False
        )
        try:
            with handle:
                for chunk in stream.iter_chunks():
                    handle.write(chunk)
            os.replace(handle.name, dest)
        except BaseException:
            stream.close()
            _unlink(handle.name)
            raise
        return {**result, "changed": True, "verified": stream.verified}

    # -- deleting -------------------------------------------------------------------------------
    def delete(self, set_name: str, backup_id: str, check_mode: bool = False) -> Dict[str, Any]:
        """Delete one backup (manifest first); a backup that is not there is ``changed: false``."""
        check_set_name(set_name)
        entries = self.scan(set_name, check_backup_id(backup_id))
        uploads = self.multipart_uploads(self.backup_prefix(set_name, backup_id))
        keys = [obj["Key"] for entry in entries for obj in entry.objects]
        if not check_mode:
            self._delete_entries(entries)
            self._abort_uploads(uploads)
        return {
            "changed": bool(keys or uploads),
            "deleted": [backup_id] if entries else [],
            "deleted_keys": keys,
            "aborted_uploads": [_upload_summary(u) for u in uploads],
        }

    def delete_all(self, set_name: str, confirm: bool, check_mode: bool = False) -> Dict[str, Any]:
        """Delete every backup of ``set_name`` (needs ``confirm``), and abort its unfinished uploads."""
        check_set_name(set_name)
        if not confirm:
            raise OffsiteError(
                f"deleting every backup of set {set_name} needs confirm_delete_all: true "
                "(or give backup_id to delete one backup)"
            )
        entries = self.scan(set_name)
        uploads = self.multipart_uploads(self.set_prefix(set_name))
        keys = [obj["Key"] for entry in entries for obj in entry.objects]
        if not check_mode:
            self._delete_entries(entries)
            self._abort_uploads(uploads)
        return {
            "changed": bool(keys or uploads),
            "deleted": [entry.backup_id for entry in entries],
            "deleted_keys": keys,
            "aborted_uploads": [_upload_summary(u) for u in uploads],
        }

    def _delete_entries(self, entries: Sequence[Entry]) -> None:
        manifests = [o["Key"] for e in entries for o in e.objects if o["Key"].endswith("/" + MANIFEST_NAME)]
        others = [o["Key"] for e in entries for o in e.objects if not o["Key"].endswith("/" + MANIFEST_NAME)]
        self._delete_keys(manifests)  # first: a half-done delete leaves incomplete backups only
        self._delete_keys(others)

    def _delete_keys(self, keys: Sequence[str]) -> None:
        for start in range(0, len(keys), 1000):
            batch = keys[start : start + 1000]
            with self._errors("delete backups", batch[0]):
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

    # -- retention ------------------------------------------------------------------------------
    def prune(
        self,
        set_name: str,
        policy: Policy,
        abandoned_after: Optional[timedelta] = None,
        check_mode: bool = False,
        now: Optional[datetime] = None,
    ) -> Dict[str, Any]:
        """Apply ``policy`` to a set; returns what was kept and removed (each with its rule)."""
        check_set_name(set_name)
        policy.check()
        moment = to_utc(now or utc_now())
        entries = self.scan(set_name)
        candidates = [Candidate(e.backup_id, e.time, e.complete, e.last_modified) for e in entries]
        decisions = apply_policy(candidates, policy, moment, abandoned_after)
        by_id = {e.backup_id: e for e in entries}
        removed = [d for d in decisions if not d.keep]
        uploads = []
        if abandoned_after is not None:
            uploads = [
                u
                for u in self.multipart_uploads(self.set_prefix(set_name))
                if moment - to_utc(u["Initiated"]) > abandoned_after
            ]
        if not check_mode:
            self._delete_entries([by_id[d.backup_id] for d in removed])
            self._abort_uploads(uploads)
        return {
            "changed": bool(removed or uploads),
            "kept": [{"backup_id": d.backup_id, "reasons": d.reasons} for d in decisions if d.keep],
            "removed": [{"backup_id": d.backup_id, "reason": d.reasons[0]} for d in removed],
            "aborted_uploads": [_upload_summary(u) for u in uploads],
        }

    # -- multipart uploads ----------------------------------------------------------------------
    def multipart_uploads(self, prefix: str) -> List[Dict[str, Any]]:
        """Unfinished multipart uploads under ``prefix``."""
        uploads: List[Dict[str, Any]] = []
        with self._errors("list unfinished uploads", prefix):
            paginator = self.client.get_paginator("list_multipart_uploads")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix, **self.owner):
                uploads.extend(page.get("Uploads", []))
        return uploads

    def _abort_uploads(self, uploads: Sequence[Mapping[str, Any]]) -> None:
        for upload in uploads:
            with self._errors("abort an unfinished upload", upload["Key"]):
                try:
                    self.client.abort_multipart_upload(
                        Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"], **self.owner
                    )
                except Exception as exc:
                    if error_code(exc) != "NoSuchUpload":  # finished or aborted meanwhile
                        raise


def _upload_summary(upload: Mapping[str, Any]) -> Dict[str, Any]:
    return {
        "key": upload["Key"],
        "upload_id": upload["UploadId"],
        "initiated": format_time(upload["Initiated"]),
    }


def _agreed_sha256(option: Optional[str], metadata: Optional[str]) -> Optional[str]:
    if option and metadata and option != metadata:
        raise OffsiteError(
            f"sha256 ({option}) and metadata.sha256 ({metadata}) disagree: nothing was stored; pass matching values"
        )
    return option or metadata


def _compression_of(path: str) -> str:
    lower = path.lower()
    if lower.endswith((".gz", ".gzip")):
        return "gzip"
    if lower.endswith((".zst", ".zstd")):
        return "zstd"
    return "none"


def _unlink(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


# Options of modules that write to the catalog (besides the connection options of ``s3.py``).
STORE_ARGUMENT_SPEC: Dict[str, Dict[str, Any]] = {
    "encryption": {"type": "str", "choices": list(ENCRYPTION_MODES)},
    "kms_key_id": {"type": "str"},
    "storage_class": {"type": "str"},
    "tags": {"type": "dict"},
    "object_lock_mode": {"type": "str", "choices": list(LOCK_MODES)},
    "object_lock_days": {"type": "int"},
    "part_size": {"type": "bytes", "default": "8MB"},
    "max_concurrency": {"type": "int", "default": 8},
}


def store_from_params(params: Mapping[str, Any], environ: Optional[Mapping[str, str]] = None) -> BackupStore:
    """Module parameters (connection + storage + transfer options) -> a ``BackupStore`` on a fresh client."""
    options = s3_options(params, environ)
    concurrency = int(params.get("max_concurrency") or 8)
    if concurrency < 1:
        raise OffsiteError("max_concurrency must be 1 or more")
    storage = StorageOptions(
        encryption=params.get("encryption"),
        kms_key_id=params.get("kms_key_id"),
        storage_class=params.get("storage_class"),
        tags=params.get("tags"),
        object_lock_mode=params.get("object_lock_mode"),
        object_lock_days=params.get("object_lock_days"),
    ).check()
    bucket = check_bucket_name(params.get("bucket"))
    return BackupStore(
        make_client(options, max_pool_connections=concurrency + 2),
        bucket,
        params.get("prefix"),
        expected_bucket_owner=params.get("expected_bucket_owner"),
        storage=storage,
        part_size=int(params.get("part_size") or DEFAULT_PART_SIZE),
        max_concurrency=concurrency,
        secrets=options.secrets(),
    )
