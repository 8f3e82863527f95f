"""The catalog's key layout: keys built and parsed back in one place; anything else is foreign."""

from __future__ import annotations

import pytest

from ansible_collections.offsite.mongodb.plugins.module_utils.catalog_layout import (
    BackupKey,
    CatalogLayout,
    compression_of,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError

ID = "20261123T101500Z"


def test_keys_of_one_backup():
    layout = CatalogLayout("mongodb-backups")
    assert layout.set_prefix() == "mongodb-backups/"
    assert layout.set_prefix("rs0") == "mongodb-backups/rs0/"
    assert layout.backup_prefix("rs0", ID) == f"mongodb-backups/rs0/{ID}/"
    assert layout.manifest_key("rs0", ID) == f"mongodb-backups/rs0/{ID}/manifest.json"
    assert layout.archive_key("rs0", ID, "gzip") == f"mongodb-backups/rs0/{ID}/mongodump.archive.gz"
    assert layout.archive_key("rs0", ID, "ZSTD") == f"mongodb-backups/rs0/{ID}/mongodump.archive.zst"
    assert layout.archive_key("rs0", ID) == f"mongodb-backups/rs0/{ID}/mongodump.archive"


@pytest.mark.parametrize(
    ("prefix", "normalised"),
    [("/a//b/", "a/b/"), ("a", "a/"), ("", ""), (None, ""), ("///", "")],
)
def test_prefixes_are_normalised_and_may_be_the_bucket_root(prefix, normalised):
    layout = CatalogLayout(prefix)
    assert layout.set_prefix() == normalised
    assert layout.manifest_key("rs0", ID) == f"{normalised}rs0/{ID}/manifest.json"


def test_every_key_built_parses_back():
    layout = CatalogLayout("x/y")
    for key in (layout.manifest_key("rs0", ID), layout.archive_key("rs0", f"{ID}-a1", "zstd")):
        parsed = layout.parse(key)
        assert (
            parsed is not None
            and layout.backup_prefix(parsed.set_name, parsed.backup_id) + parsed.name == key
        )
    assert layout.parse(layout.manifest_key("rs0", ID)) == BackupKey("rs0", ID, "manifest.json")
    assert layout.parse(layout.manifest_key("rs0", ID)).is_manifest
    assert not layout.parse(layout.archive_key("rs0", ID)).is_manifest


@pytest.mark.parametrize(
    "key",
    [
        "other/rs0/20261123T101500Z/manifest.json",  # another prefix
        "mongodb-backups/notes.txt",
        "mongodb-backups/rs0/latest/manifest.json",
        "mongodb-backups/rs0/20261323T101500Z/manifest.json",  # month 13
        "mongodb-backups/rs0/20261123T251500Z/manifest.json",  # hour 25
        "mongodb-backups/rs0/20261123T101500Z/",
        "mongodb-backups/rs0/20261123T101500Z/sub/file",
    ],
)
def test_keys_outside_the_layout_are_foreign(key):
    assert CatalogLayout("mongodb-backups").parse(key) is None


def test_unsafe_set_names_and_ids_are_refused_when_building_keys():
    layout = CatalogLayout()
    with pytest.raises(OffsiteError, match="set_name"):
        layout.set_prefix("a/b")
    with pytest.raises(OffsiteError, match="backup_id"):
        layout.manifest_key("rs0", "../x")


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("a.archive.gz", "gzip"),
        ("A.GZIP", "gzip"),
        ("a.zst", "zstd"),
        ("a.ZSTD", "zstd"),
        ("a.archive", "none"),
        ("gz", "none"),
    ],
)
def test_compression_from_the_name(name, kind):
    assert compression_of(name) == kind
