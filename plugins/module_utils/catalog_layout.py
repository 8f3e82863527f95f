"""Where the catalog keeps things: ``<prefix>/<set_name>/<backup_id>/`` holds the archive, then ``manifest.json``.

Keys are built here and read back here; a key under the prefix that does not fit the layout (a
foreign object, a malformed or impossible backup id) is recognised as foreign, never guessed at.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ansible_collections.offsite.mongodb.plugins.module_utils.backup_id import (
    check_backup_id,
    check_set_name,
    is_backup_id,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.manifest import MANIFEST_NAME

ARCHIVE_NAMES = {"gzip": "mongodump.archive.gz", "zstd": "mongodump.archive.zst", "none": "mongodump.archive"}


@dataclass(frozen=True)
class BackupKey:
    """One object of a backup, as its key names it."""

    set_name: str
    backup_id: str
    name: str


class CatalogLayout:
    """The key layout under one prefix (``""`` for the bucket's root)."""

    def __init__(self, prefix: Optional[str] = "mongodb-backups") -> None:
        self.prefix = "/".join(part for part in str(prefix or "").split("/") if part)

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

    def parse(self, key: str) -> Optional[BackupKey]:
        """The backup object ``key`` names, or None when the key is not of this layout."""
        root = self.set_prefix()
        if not key.startswith(root):
            return None
        parts = key[len(root) :].split("/")
        if len(parts) != 3 or not parts[2] or not is_backup_id(parts[1]):
            return None
        return BackupKey(parts[0], parts[1], parts[2])


def compression_of(path: str) -> str:
    """The compression a file or key name says (``.gz``, ``.zst``), else ``none``."""
    lower = path.lower()
    if lower.endswith((".gz", ".gzip")):
        return "gzip"
    if lower.endswith((".zst", ".zstd")):
        return "zstd"
    return "none"
