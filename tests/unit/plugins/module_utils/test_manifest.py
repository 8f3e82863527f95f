"""The manifest: built from the dump result, validated, versioned."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.manifest import (
    COLLECTION_VERSION,
    SCHEMA_VERSION,
    build_manifest,
    check_sha256,
    dump_manifest,
    parse_manifest,
)

ROOT = Path(__file__).resolve().parents[4]
DIGEST = "ab" * 32
DUMP_RESULT = {
    "path": "/tmp/x/rs0.archive.gz",
    "size": 1234,
    "sha256": DIGEST,
    "compression": "gzip",
    "consistency": "oplog",
    "engine": "native",
    "server_version": "7.0.12",
    "namespaces": [{"ns": "shop.orders", "type": "collection", "documents": 10, "bytes": 900}],
    "documents": 10,
    "oplog": {"first": "1:1", "last": "2:1", "count": 3},
    "started_at": "2026-11-23T10:15:00Z",
    "finished_at": "2026-11-23T10:16:00Z",
    "duration_seconds": 60.0,
    "replica_set": "rs0",
    "hosts": ["db1:27017"],
    "extra_field": "kept",
}


def make(**overrides):
    args = dict(
        backup_id="20261123T101500Z",
        set_name="rs0",
        created="2026-11-23T10:17:00Z",
        archive={"key": "p/rs0/20261123T101500Z/mongodump.archive.gz", "size": 1234, "sha256": DIGEST},
        metadata=DUMP_RESULT,
        labels={"reason": "nightly"},
        encryption={"mode": "AES256"},
    )
    args.update(overrides)
    return build_manifest(**args)


def test_manifest_records_what_a_restore_and_an_operator_need():
    manifest = make()
    assert manifest["schema_version"] == SCHEMA_VERSION
    assert manifest["source"] == {
        "hosts": ["db1:27017"],
        "replica_set": "rs0",
        "server_version": "7.0.12",
        "topology": None,
    }
    assert manifest["consistency"] == {"mode": "oplog", "oplog": {"first": "1:1", "last": "2:1", "count": 3}}
    assert manifest["archive"]["compression"] == "gzip"
    assert manifest["namespaces"][0]["ns"] == "shop.orders"
    assert manifest["tool"]["collection_version"] == COLLECTION_VERSION
    assert manifest["encryption"] == {"mode": "AES256"}
    assert manifest["labels"] == {"reason": "nightly"}
    assert manifest["metadata"] == {"extra_field": "kept"}
    assert parse_manifest(dump_manifest(manifest)) == json.loads(dump_manifest(manifest))


def test_collection_version_matches_galaxy_yml():
    galaxy = (ROOT / "galaxy.yml").read_text()
    assert re.search(r"^version:\s*(\S+)", galaxy, re.M).group(1) == COLLECTION_VERSION


def test_newer_schema_is_refused_with_the_fix():
    data = json.loads(dump_manifest(make()))
    data["schema_version"] = SCHEMA_VERSION + 1
    with pytest.raises(OffsiteError, match=r"upgrade the offsite\.mongodb collection"):
        parse_manifest(json.dumps(data).encode())


@pytest.mark.parametrize(
    "damage",
    [
        lambda m: m.pop("backup_id"),
        lambda m: m["archive"].pop("sha256"),
        lambda m: m["archive"].update(size=-1),
        lambda m: m["archive"].update(sha256="zz"),
        lambda m: m.update(schema_version="1"),
    ],
)
def test_damaged_manifests_are_refused(damage):
    data = json.loads(dump_manifest(make()))
    damage(data)
    with pytest.raises(OffsiteError, match="manifest"):
        parse_manifest(json.dumps(data).encode(), "manifest")


def test_not_json_is_refused():
    with pytest.raises(OffsiteError, match="not valid JSON"):
        parse_manifest(b"{nope")


def test_sha256_option_is_normalised():
    assert check_sha256("SHA256:" + DIGEST.upper()) == DIGEST
    assert check_sha256("") is None
    with pytest.raises(OffsiteError, match="64 hexadecimal"):
        check_sha256("abc")
