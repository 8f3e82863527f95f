"""Where the catalog keeps things: ``<prefix>/<set_name>/<backup_id>/`` holds the archive, then ``manifest.json``.

Beside the backups of a set, ``<prefix>/<set_name>/oplog/<first>-<last>/`` holds one archived oplog
slice (``oplog.bson[.gz|.zst]``, then its ``manifest.json``), and a folder with ``gap.json`` records
a break in the archived oplog; ``<first>`` and ``<last>`` are zero-padded ``secs.inc`` positions, so
a listing sorts by time.

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
from ansible_collections.offsite.mongodb.plugins.module_utils.oplog_time import OplogTime, from_name

ARCHIVE_NAMES = {"gzip": "mongodump.archive.gz", "zstd": "mongodump.archive.zst", "none": "mongodump.archive"}
OPLOG_FOLDER = "oplog"
SLICE_NAMES = {"gzip": "oplog.bson.gz", "zstd": "oplog.bson.zst", "none": "oplog.bson"}
GAP_NAME = "gap.json"


@dataclass(frozen=True)
class BackupKey:
    """One object of a backup, as its key names it."""

    set_name: str
    backup_id: str
    name: str

    @property
    def is_manifest(self) -> bool:
        return self.name == MANIFEST_NAME


@dataclass(frozen=True)
class SliceKey:
    """One object of an oplog slice folder (or of a gap marker), as its key names it."""

    set_name: str
    first: OplogTime
    last: OplogTime
    name: str

    @property
    def folder(self) -> str:
        return f"{self.first.name}-{self.last.name}"

    @property
    def is_manifest(self) -> bool:
        return self.name == MANIFEST_NAME

    @property
    def is_gap(self) -> bool:
        return self.name == GAP_NAME


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

    def oplog_prefix(self, set_name: str) -> str:
        return f"{self.set_prefix(set_name)}{OPLOG_FOLDER}/"

    def slice_prefix(self, set_name: str, first: OplogTime, last: OplogTime) -> str:
        return f"{self.oplog_prefix(set_name)}{first.name}-{last.name}/"

    def slice_key(self, set_name: str, first: OplogTime, last: OplogTime, compression: Optional[str]) -> str:
        name = SLICE_NAMES.get(str(compression or "none").lower(), SLICE_NAMES["none"])
        return self.slice_prefix(set_name, first, last) + name

    def slice_manifest_key(self, set_name: str, first: OplogTime, last: OplogTime) -> str:
        return self.slice_prefix(set_name, first, last) + MANIFEST_NAME

    def gap_key(self, set_name: str, after: OplogTime, resume: OplogTime) -> str:
        return self.slice_prefix(set_name, after, resume) + GAP_NAME

    def parse_slice(self, key: str) -> Optional[SliceKey]:
        """The oplog slice (or gap) object ``key`` names, or None when it is not one."""
        root = self.set_prefix()
        if not key.startswith(root):
            return None
        parts = key[len(root) :].split("/")
        if len(parts) != 4 or parts[1] != OPLOG_FOLDER or not parts[3]:
            return None
        first, _unused, last = parts[2].partition("-")
        first_time, last_time = from_name(first), from_name(last)
        if first_time is None or last_time is None or last_time < first_time:
            return None
        return SliceKey(parts[0], first_time, last_time, parts[3])

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
