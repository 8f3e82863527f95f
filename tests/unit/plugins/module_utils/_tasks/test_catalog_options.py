"""Module options -> Catalog: every option checked before a client exists or a request is sent."""

from __future__ import annotations

import pytest

from ansible_collections.offsite.mongodb.plugins.module_utils._tasks import catalog_options
from ansible_collections.offsite.mongodb.plugins.module_utils._tasks.catalog_options import (
    catalog_from_options,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.s3_upload import MiB

GOOD = {"bucket": "acme-backups", "prefix": "mongodb-backups", "region": "us-east-1"}


@pytest.fixture
def no_client(monkeypatch):
    made = []
    monkeypatch.setattr(catalog_options, "make_client", lambda *args, **kwargs: made.append(args) or object())
    return made


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"max_concurrency": 0}, "max_concurrency must be between 1 and 64, got 0"),
        ({"max_concurrency": 65}, "max_concurrency must be between 1 and 64, got 65"),
        ({"part_size": 4 * MiB}, r"part_size must be between 5MB and 5GB \(S3's limits\), got 4194304 bytes"),
        ({"part_size": 6 * 1024**3}, "part_size must be between 5MB and 5GB"),
        ({"bucket": "Bad_Bucket"}, "bucket 'Bad_Bucket' is not a valid S3 bucket name"),
        ({"kms_key_id": "k"}, "kms_key_id needs encryption: aws:kms"),
        ({"object_lock_mode": "GOVERNANCE"}, "set object_lock_mode and object_lock_days together"),
        ({"access_key": "AKIAONLYHALF"}, "set access_key and secret_key together"),
    ],
)
def test_bad_options_are_refused_before_a_client_is_made(no_client, params, message):
    with pytest.raises(OffsiteError, match=message):
        catalog_from_options({**GOOD, **params})
    assert no_client == []


def test_good_options_make_a_catalog_with_the_transfer_settings(no_client):
    catalog = catalog_from_options(
        {**GOOD, "max_concurrency": 3, "part_size": 16 * MiB, "expected_bucket_owner": "111122223333"}
    )
    assert (catalog.bucket, catalog.max_concurrency, catalog.part_size) == ("acme-backups", 3, 16 * MiB)
    assert catalog.where == "s3://acme-backups/mongodb-backups/"
    assert catalog.owner == {"ExpectedBucketOwner": "111122223333"}
    assert len(no_client) == 1


def test_unset_transfer_options_take_the_defaults(no_client):
    catalog = catalog_from_options(GOOD)
    assert catalog.max_concurrency == 8 and catalog.part_size == catalog_options.DEFAULT_PART_SIZE
