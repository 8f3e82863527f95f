"""A boto3 S3 client whose every request is answered by botocore's ``Stubber`` (nothing leaves the process)."""

from __future__ import annotations

import io
from datetime import datetime, timezone
from typing import Any, Dict

import boto3
from botocore.response import StreamingBody
from botocore.stub import Stubber

BUCKET = "acme-backups"
WHEN = datetime(2026, 11, 23, 10, 15, tzinfo=timezone.utc)


def stubbed_client() -> Any:
    """(client, stubber): a real botocore client, requests validated against the S3 model, no network."""
    client = boto3.client(
        "s3",
        region_name="us-east-1",
        aws_access_key_id="AKIASTUBBEDNOTREAL00",
        aws_secret_access_key="stubbed-secret-not-real",
    )
    return client, Stubber(client)


def body(data: bytes) -> StreamingBody:
    return StreamingBody(io.BytesIO(data), len(data))


def listed(key: str, size: int = 10, modified: datetime = WHEN) -> Dict[str, Any]:
    """One ``Contents`` item of a ``list_objects_v2`` reply."""
    return {"Key": key, "Size": size, "LastModified": modified}
