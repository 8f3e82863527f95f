"""Module options -> a ``Catalog`` on a fresh S3 client (connection, storage and transfer options)."""

from __future__ import annotations

from typing import Any, Mapping

from ansible_collections.offsite.mongodb.plugins.module_utils.catalog import Catalog
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.s3_connection import (
    check_bucket_name,
    make_client,
    s3_options,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.s3_upload import (
    DEFAULT_PART_SIZE,
    MAX_PART_SIZE,
    MIN_PART_SIZE,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.storage_options import StorageOptions

MAX_CONCURRENCY = 64


def catalog_from_options(params: Mapping[str, Any]) -> Catalog:
    """The catalog the options name; every option is checked before anything is sent."""
    options = s3_options(params)
    concurrency = params.get("max_concurrency")
    concurrency = 8 if concurrency is None else int(concurrency)
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise OffsiteError(f"max_concurrency must be between 1 and {MAX_CONCURRENCY}, got {concurrency}")
    part_size = int(params.get("part_size") or DEFAULT_PART_SIZE)
    if not MIN_PART_SIZE <= part_size <= MAX_PART_SIZE:
        raise OffsiteError(f"part_size must be between 5MB and 5GB (S3's limits), got {part_size} bytes")
    storage = StorageOptions(
        encryption=params.get("encryption"),
        kms_key_id=params.get("kms_key_id"),
        storage_class=params.get("storage_class"),
        tags=params.get("tags"),
        object_lock_mode=params.get("object_lock_mode"),
        object_lock_days=params.get("object_lock_days"),
    ).check()
    bucket = check_bucket_name(params.get("bucket"))
    return Catalog(
        make_client(options, max_pool_connections=concurrency + 2),
        bucket,
        params.get("prefix"),
        expected_bucket_owner=params.get("expected_bucket_owner"),
        storage=storage,
        part_size=part_size,
        max_concurrency=concurrency,
        secrets=options.secrets(),
    )
