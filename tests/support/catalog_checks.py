"""What a fault must never leave behind: checks on the S3 catalog, local directories and messages."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Iterable, List


def multipart_uploads(client: Any, bucket: str, prefix: str = "") -> List[dict]:
    """Unfinished multipart uploads under ``prefix``."""
    return client.list_multipart_uploads(Bucket=bucket, Prefix=prefix).get("Uploads", [])


def keys(client: Any, bucket: str, prefix: str = "") -> List[str]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted(obj["Key"] for page in pages for obj in page.get("Contents", []))


def manifests(client: Any, bucket: str, prefix: str = "") -> List[str]:
    return [key for key in keys(client, bucket, prefix) if key.endswith("/manifest.json")]


def broken_complete_backups(client: Any, bucket: str, prefix: str = "") -> List[str]:
    """Backups with a ``manifest.json`` whose archive is missing or not the size/SHA-256 it records."""
    broken = []
    for key in manifests(client, bucket, prefix):
        manifest = json.loads(client.get_object(Bucket=bucket, Key=key)["Body"].read())
        archive = manifest["archive"]
        try:
            data = client.get_object(Bucket=bucket, Key=archive["key"])["Body"].read()
        except Exception as exc:  # any failure to read it means the backup is broken
            broken.append(f"{key}: archive unreadable ({exc})")
            continue
        if len(data) != archive["size"] or hashlib.sha256(data).hexdigest() != archive["sha256"]:
            broken.append(f"{key}: archive is {len(data)} bytes, not the {archive['size']} recorded")
    return broken


def leftovers(directories: Iterable[Path]) -> List[str]:
    """Every file or directory found under ``directories`` (which themselves may exist)."""
    found = []
    for directory in directories:
        if directory.exists():
            found += sorted(str(path) for path in directory.rglob("*"))
    return found


def assert_one_line(message: Any) -> None:
    """A failure message an operator can read: one line, no traceback, not empty."""
    text = str(message)
    assert text.strip(), "the failure has no message"
    assert "\n" not in text, f"the message spans several lines: {text!r}"
    assert "Traceback" not in text, f"the message is a traceback: {text!r}"
    assert "Module failed" not in text and "MODULE FAILURE" not in text, f"the module crashed: {text!r}"
