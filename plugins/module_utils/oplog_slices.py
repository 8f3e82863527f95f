"""An archived oplog slice and a recorded gap, as their JSON documents say (written last / once).

A slice holds the oplog entries ``after < ts <= last`` of one set, raw BSON back to back (what
``mongorestore --oplogFile`` reads), compressed like archives. Its ``manifest.json`` makes it
complete; ``after`` is the previous slice's ``last`` (or a base backup's oplog end), so slices
whose ``after`` is the previous ``last`` form an unbroken chain. A chain's first slice may have
``after: null``: it starts at its own ``first`` entry. The schema is in ``docs/manifest.md``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional

from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.manifest import (
    COLLECTION_VERSION,
    SHA256,
    dump_manifest,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.oplog_time import OplogTime, from_record

SLICE_SCHEMA = "offsite.mongodb/oplog-slice-manifest"
GAP_SCHEMA = "offsite.mongodb/oplog-gap"
SLICE_SCHEMA_VERSION = 1
GAP_REASONS = ("rollover", "rollback")


@dataclass(frozen=True)
class Slice:
    """A complete slice: the entries ``(after, last]`` (``[first, last]`` when ``after`` is None)."""

    set_name: str
    first: OplogTime
    last: OplogTime
    after: Optional[OplogTime]
    count: int
    term_last: Optional[int]
    object: Mapping[str, Any] = field(repr=False)
    manifest_key: str = ""

    @property
    def start(self) -> OplogTime:
        """The earliest point this slice continues from: ``after``, or its first entry."""
        return self.after if self.after is not None else self.first


@dataclass(frozen=True)
class Gap:
    """A break the archiver found: entries after ``after`` up to ``resume`` are not in the catalog."""

    set_name: str
    after: OplogTime
    resume: OplogTime
    reason: str
    detected: str
    key: str = ""

    def summary(self) -> Dict[str, Any]:
        return {
            "from": self.after.summary(),
            "to": self.resume.summary(),
            "reason": self.reason,
            "detected": self.detected,
        }


def build_slice_manifest(
    *,
    set_name: str,
    first: OplogTime,
    last: OplogTime,
    after: Optional[OplogTime],
    count: int,
    raw_size: int,
    terms: Mapping[str, Any],
    obj: Mapping[str, Any],
    source: Mapping[str, Any],
    created: str,
    encryption: Optional[Mapping[str, Any]] = None,
    object_lock: Optional[Mapping[str, Any]] = None,
) -> Dict[str, Any]:
    """The manifest of one slice (validated)."""
    manifest = {
        "schema": SLICE_SCHEMA,
        "schema_version": SLICE_SCHEMA_VERSION,
        "set_name": set_name,
        "first": first.record(),
        "last": last.record(),
        "after": after.record() if after is not None else None,
        "first_time": first.summary()["time"],
        "last_time": last.summary()["time"],
        "count": count,
        "raw_size": raw_size,
        "terms": dict(terms),
        "object": dict(obj),
        "source": dict(source),
        "created": created,
        "tool": {"name": "offsite.mongodb", "collection_version": COLLECTION_VERSION},
        "encryption": dict(encryption or {"mode": "none"}),
        "object_lock": dict(object_lock) if object_lock else None,
    }
    slice_from_manifest(manifest, "the new slice manifest")
    return manifest


def build_gap(
    set_name: str, after: OplogTime, resume: OplogTime, *, reason: str, detected: str, message: str
) -> bytes:
    """The stored gap marker."""
    if reason not in GAP_REASONS:
        raise OffsiteError(f"gap reason must be one of {', '.join(GAP_REASONS)}, got {reason!r}")
    document = {
        "schema": GAP_SCHEMA,
        "schema_version": SLICE_SCHEMA_VERSION,
        "set_name": set_name,
        "after": after.record(),
        "resume": resume.record(),
        "reason": reason,
        "detected": detected,
        "message": message,
    }
    return dump_manifest(document)


def _load(data: bytes, where: str) -> Dict[str, Any]:
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise OffsiteError(f"{where} is not valid JSON: it is damaged") from None
    if not isinstance(document, dict):
        raise OffsiteError(f"{where} is not a JSON object: it is damaged")
    version = document.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise OffsiteError(f"{where} has no valid schema_version: it was not written by offsite.mongodb")
    if version > SLICE_SCHEMA_VERSION:
        raise OffsiteError(
            f"{where} uses schema {version}, newer than the {SLICE_SCHEMA_VERSION} this collection reads: "
            "upgrade the offsite.mongodb collection"
        )
    return document


def slice_from_manifest(document: Mapping[str, Any], where: str, key: str = "") -> Slice:
    """A validated ``Slice`` from its manifest document."""
    if document.get("schema") != SLICE_SCHEMA:
        raise OffsiteError(f"{where} is not an oplog slice manifest: it is damaged")
    obj = document.get("object")
    if not isinstance(obj, Mapping) or not isinstance(obj.get("key"), str):
        raise OffsiteError(f"{where} lacks object.key: the slice manifest is damaged")
    size, count = obj.get("size"), document.get("count")
    if not isinstance(size, int) or size < 0 or not isinstance(count, int) or count < 1:
        raise OffsiteError(f"{where} lacks a valid object.size or count: the slice manifest is damaged")
    if not isinstance(obj.get("sha256"), str) or not SHA256.match(obj["sha256"]):
        raise OffsiteError(f"{where} lacks a valid object.sha256: the slice manifest is damaged")
    first, last = from_record(document.get("first")), from_record(document.get("last"))
    after = from_record(document.get("after"))
    if first is None or last is None or last < first or (after is not None and after >= first):
        raise OffsiteError(
            f"{where} has inconsistent first/last/after positions: the slice manifest is damaged"
        )
    terms = document.get("terms") or {}
    return Slice(
        set_name=str(document.get("set_name") or ""),
        first=first,
        last=last,
        after=after,
        count=count,
        term_last=terms.get("last"),
        object=obj,
        manifest_key=key,
    )


def parse_slice_manifest(data: bytes, where: str, key: str = "") -> Slice:
    return slice_from_manifest(_load(data, where), where, key)


def parse_gap(data: bytes, where: str, key: str = "") -> Gap:
    document = _load(data, where)
    after, resume = from_record(document.get("after")), from_record(document.get("resume"))
    if document.get("schema") != GAP_SCHEMA or after is None or resume is None:
        raise OffsiteError(f"{where} is not an oplog gap marker: it is damaged")
    return Gap(
        str(document.get("set_name") or ""), after, resume, str(document.get("reason")),
        str(document.get("detected") or ""), key,
    )  # fmt: skip


def elections(changes: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The term changes inside a slice, as stored: ``[{"term": n, "first": {t, i}}]``."""
    return [{"term": int(c["term"]), "first": c["first"].record()} for c in changes]
