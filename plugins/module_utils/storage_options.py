"""How the catalog's objects are stored: server-side encryption, storage class, tags, object-lock retention."""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Dict, Mapping, Optional

from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.times import to_utc

ENCRYPTION_MODES = ("none", "AES256", "aws:kms")
LOCK_MODES = ("GOVERNANCE", "COMPLIANCE")


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
