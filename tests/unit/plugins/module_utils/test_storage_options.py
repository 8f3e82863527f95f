"""How objects are stored: encryption, storage class, tags and object lock, as S3 request arguments."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.storage_options import StorageOptions

NOW = datetime(2026, 11, 23, 10, 15, tzinfo=timezone.utc)


def test_no_options_add_no_arguments():
    assert StorageOptions().check().object_args(NOW) == {}
    assert StorageOptions().encryption_record() == {"mode": "none"}


def test_archive_and_manifest_arguments():
    options = StorageOptions(
        encryption="aws:kms", kms_key_id="arn:key", storage_class="GLACIER_IR", tags={"team": "dba", "n": 1},
        object_lock_mode="COMPLIANCE", object_lock_days=30,
    ).check()  # fmt: skip
    archive = options.object_args(NOW)
    assert archive == {
        "ServerSideEncryption": "aws:kms",
        "SSEKMSKeyId": "arn:key",
        "StorageClass": "GLACIER_IR",
        "Tagging": "team=dba&n=1",
        "ObjectLockMode": "COMPLIANCE",
        "ObjectLockRetainUntilDate": datetime(2026, 12, 23, 10, 15, tzinfo=timezone.utc),
    }
    manifest = options.object_args(NOW, archive=False)
    assert "StorageClass" not in manifest  # the catalog stays readable without a restore request
    assert manifest["ServerSideEncryption"] == "aws:kms"
    assert options.encryption_record() == {"mode": "aws:kms", "kms_key_id": "arn:key"}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (StorageOptions(encryption="rot13"), "encryption must be one of none, AES256, aws:kms"),
        (StorageOptions(kms_key_id="k", encryption="AES256"), "kms_key_id needs encryption: aws:kms"),
        (StorageOptions(object_lock_mode="LEGAL"), "object_lock_mode must be GOVERNANCE or COMPLIANCE"),
        (StorageOptions(object_lock_days=3), "set object_lock_mode and object_lock_days together"),
        (
            StorageOptions(object_lock_mode="GOVERNANCE", object_lock_days=-1),
            "must be a positive number of days",
        ),
    ],
)
def test_inconsistent_options_are_refused(options, message):
    with pytest.raises(OffsiteError, match=message):
        options.check()
