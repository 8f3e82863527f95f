"""The backup manifest: a versioned JSON document written last, whose presence makes a backup complete.

The schema is documented in ``docs/docsite/rst/manifest.rst``. Readers accept any manifest whose ``schema_version``
is at most ``SCHEMA_VERSION`` and ignore fields they do not know.
"""

from __future__ import annotations

import json
import platform
import re
from typing import Any, Dict, List, Mapping, Optional

from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError

SCHEMA = "offsite.mongodb/backup-manifest"
SCHEMA_VERSION = 1
COLLECTION_VERSION = "0.1.0"  # kept equal to galaxy.yml's version by a unit test
MANIFEST_NAME = "manifest.json"
SHA256 = re.compile(r"^[0-9a-f]{64}$")

# Dump-result fields that get a named place in the manifest; anything else stays under ``metadata``.
MAPPED_FIELDS = (
    "path", "size", "sha256", "compression", "consistency", "engine", "server_version", "namespaces",
    "documents", "oplog", "started_at", "finished_at", "duration_seconds", "hosts", "host", "replica_set",
    "topology", "tool_version", "source", "writes_held_seconds",
)  # fmt: skip


def build_manifest(
    *,
    backup_id: str,
    set_name: str,
    created: str,
    archive: Mapping[str, Any],
    metadata: Optional[Mapping[str, Any]] = None,
    labels: Optional[Mapping[str, Any]] = None,
    encryption: Optional[Mapping[str, Any]] = None,
    object_lock: Optional[Mapping[str, Any]] = None,
) -> Dict[str, Any]:
    """The manifest for one backup: ``archive`` is {key, size, sha256, ...}, ``metadata`` the dump's result."""
    meta = dict(metadata or {})
    source = dict(meta.get("source") or {})
    hosts = meta.get("hosts") or ([meta["host"]] if meta.get("host") else source.get("hosts") or [])
    source.update(
        hosts=list(hosts),
        replica_set=meta.get("replica_set", source.get("replica_set")),
        server_version=meta.get("server_version", source.get("server_version")),
        topology=meta.get("topology", source.get("topology")),
    )
    consistency = meta.get("consistency")
    if not isinstance(consistency, Mapping):
        consistency = {"mode": consistency}
    consistency = dict(consistency)
    consistency.setdefault("oplog", meta.get("oplog"))
    # lock: how long the node held writes (the backup role measures it).
    if meta.get("writes_held_seconds") is not None:
        consistency.setdefault("writes_held_seconds", float(meta["writes_held_seconds"]))
    archive_info = dict(archive)
    archive_info.setdefault("compression", meta.get("compression"))
    manifest = {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "backup_id": backup_id,
        "set_name": set_name,
        "created": created,
        "started_at": meta.get("started_at"),
        "finished_at": meta.get("finished_at"),
        "duration_seconds": meta.get("duration_seconds"),
        "source": source,
        "consistency": consistency,
        "engine": meta.get("engine"),
        "archive": archive_info,
        "namespaces": _namespaces(meta.get("namespaces")),
        "documents": meta.get("documents"),
        "tool": {
            "name": "offsite.mongodb",
            "collection_version": COLLECTION_VERSION,
            "engine_version": meta.get("tool_version"),
            "python": platform.python_version(),
        },
        "encryption": dict(encryption or {"mode": "none"}),
        "object_lock": dict(object_lock) if object_lock else None,
        "labels": {str(k): v for k, v in (labels or {}).items()},
        "metadata": {k: v for k, v in meta.items() if k not in MAPPED_FIELDS},
    }
    validate_manifest(manifest)
    return manifest


def _namespaces(value: Any) -> List[Dict[str, Any]]:
    if not value:
        return []
    if isinstance(value, Mapping):  # {"db.coll": documents} is accepted too
        return [{"ns": ns, "documents": count} for ns, count in value.items()]
    return [dict(item) if isinstance(item, Mapping) else {"ns": str(item)} for item in value]


def dump_manifest(manifest: Mapping[str, Any]) -> bytes:
    """The manifest as stored: UTF-8 JSON, keys sorted, indented for people who open it."""
    return (json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n").encode("utf-8")


def parse_manifest(data: bytes, where: str = "manifest.json") -> Dict[str, Any]:
    """Stored bytes -> validated manifest dict (one-line errors name the object)."""
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise OffsiteError(
            f"{where} is not valid JSON: the manifest is damaged; treat that backup as incomplete"
        ) from None
    validate_manifest(manifest, where)
    return manifest


def validate_manifest(manifest: Any, where: str = "manifest") -> None:
    """Raise a one-line error when ``manifest`` lacks what a restore needs or is from a newer schema."""
    if not isinstance(manifest, Mapping):
        raise OffsiteError(f"{where} is not a JSON object: the manifest is damaged")
    version = manifest.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise OffsiteError(f"{where} has no valid schema_version: it was not written by offsite.mongodb")
    if version > SCHEMA_VERSION:
        raise OffsiteError(
            f"{where} uses manifest schema {version}, newer than the {SCHEMA_VERSION} this collection reads: "
            "upgrade the offsite.mongodb collection"
        )
    for field in ("backup_id", "set_name", "created"):
        if not isinstance(manifest.get(field), str) or not manifest.get(field):
            raise OffsiteError(f"{where} lacks {field}: the manifest is damaged")
    archive = manifest.get("archive")
    if not isinstance(archive, Mapping) or not isinstance(archive.get("key"), str):
        raise OffsiteError(f"{where} lacks archive.key: the manifest is damaged")
    size = archive.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise OffsiteError(f"{where} lacks a valid archive.size: the manifest is damaged")
    if not isinstance(archive.get("sha256"), str) or not SHA256.match(archive["sha256"]):
        raise OffsiteError(f"{where} lacks a valid archive.sha256: the manifest is damaged")


def check_sha256(value: Optional[str], option: str = "sha256") -> Optional[str]:
    """A lowercase hex SHA-256 (or None), else a one-line error."""
    if value is None or value == "":
        return None
    digest = str(value).strip().lower()
    if digest.startswith("sha256:"):
        digest = digest[len("sha256:") :]
    if not SHA256.match(digest):
        raise OffsiteError(f"{option} must be 64 hexadecimal characters (a SHA-256 digest), got {value!r}")
    return digest
