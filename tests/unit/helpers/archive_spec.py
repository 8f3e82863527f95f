"""An archive checker built only from mongodump-formats.md (sections 2, 5 and the 6.1 writer checklist).

It shares no code with the collection's reader: it parses the framing and the header documents by
hand and recomputes CRCs with the spec's own table (section 9). ``walk`` is used by the archive,
dump and module tests on archives this collection writes; test_archive_format.py runs it on real fixtures.
"""

from __future__ import annotations

import gzip
import io
import struct
from typing import Any, Dict, List, Tuple

import zstandard

from ansible_collections.offsite.mongodb.tests.unit.helpers.fixtures import MONGODUMP_FIXTURES

FIXTURES = MONGODUMP_FIXTURES.parent

_T = []
for _i in range(256):
    _c = _i
    for _unused in range(8):
        _c = (_c >> 1) ^ 0xC96C5795D7870F42 if _c & 1 else _c >> 1
    _T.append(_c)


def spec_crc(crc: int, data: bytes) -> int:
    """Section 9 of the spec, verbatim in behaviour (continuing from a finished value)."""
    crc ^= 0xFFFFFFFFFFFFFFFF
    for b in data:
        crc = _T[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFFFFFFFFFF


def elements(doc: bytes) -> List[Tuple[str, int, Any]]:
    """(name, BSON type byte, value) for the few types headers use: string, bool, int32, int64."""
    assert struct.unpack_from("<i", doc)[0] == len(doc) and doc[-1] == 0
    out = []
    pos = 4
    while doc[pos] != 0:
        kind = doc[pos]
        end = doc.index(b"\x00", pos + 1)
        name = doc[pos + 1 : end].decode()
        pos = end + 1
        if kind == 0x02:
            size = struct.unpack_from("<i", doc, pos)[0]
            value = doc[pos + 4 : pos + 4 + size - 1].decode()
            assert doc[pos + 4 + size - 1] == 0
            pos += 4 + size
        elif kind == 0x08:
            value = doc[pos] == 1
            pos += 1
        elif kind == 0x10:
            value = struct.unpack_from("<i", doc, pos)[0]
            pos += 4
        elif kind == 0x12:
            value = struct.unpack_from("<q", doc, pos)[0]
            pos += 8
        else:
            raise AssertionError(f"unexpected BSON type {kind:#x} for {name!r} in a header document")
        out.append((name, kind, value))
    assert pos == len(doc) - 1
    return out


def walk(data: bytes, strict: bool = True) -> Dict[str, Any]:  # noqa: PLR0912 - one rule per branch
    """Check an archive (gzip or plain) against the spec; returns what was found.

    ``strict`` applies the writer checklist (6.1) on top of the reader rules (5.1, 5.2), which real
    archives from old tools do not all meet (no ``type`` field, for one).
    """
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    elif data[:4] == b"\x28\xb5\x2f\xfd":
        data = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data), read_across_frames=True).read()
    assert data[:4] == bytes.fromhex("6de29981"), "magic"
    pos = 4

    def next_item(limit: int = 16 * 1024 * 1024):
        nonlocal pos
        assert pos + 4 <= len(data), "stream ends inside a length prefix"
        if data[pos : pos + 4] == b"\xff\xff\xff\xff":
            pos += 4
            return None
        length = struct.unpack_from("<i", data, pos)[0]
        assert 5 <= length <= limit, f"bad length {length} at {pos}"
        assert pos + length <= len(data), "stream ends inside a document"
        doc = data[pos : pos + length]
        assert doc[-1] == 0
        pos += length
        return doc

    header = elements(next_item())
    names = [(n, k) for n, k, _unused in header]
    values = {n: v for n, _unused, v in header}
    if strict:
        assert names == [
            ("concurrent_collections", 0x10),
            ("version", 2),
            ("server_version", 2),
            ("tool_version", 2),
        ]
        assert values["concurrent_collections"] >= 1 and values["version"] == "0.1"
    core = values["server_version"].split("-")[0].split("+")[0].split(".")
    assert len(core) == 3 and all(p.isdigit() for p in core), "server_version must be X.Y.Z"
    version = tuple(int(p) for p in core)
    prelude = []
    while True:
        doc = next_item()
        if doc is None:
            break
        fields = elements(doc)
        if strict:
            assert [(n, k) for n, k, _unused in fields] == [
                ("db", 2), ("collection", 2), ("metadata", 2), ("size", 0x10), ("type", 2)
            ]  # fmt: skip
            entry = {n: v for n, _unused, v in fields}
            assert entry["size"] == 0 and entry["type"] in ("collection", "view", "timeseries", "")
        entry = {n: v for n, _unused, v in fields}
        prelude.append(entry)
    expected = {}
    for entry in prelude:
        coll = entry["collection"]
        if entry.get("type") == "timeseries" and version < (8, 3, 0):
            coll = "system.buckets." + coll
        expected[(entry["db"], coll)] = entry
    crcs: Dict[Tuple[str, str], int] = {}
    counts: Dict[str, int] = {}
    data_blocks: Dict[str, int] = {}
    closed: List[Tuple[str, str]] = []
    open_now: set = set()
    max_open = 0
    order: List[str] = []
    while pos < len(data):
        doc = next_item()
        assert doc is not None, "a block starts with a terminator"
        fields = elements(doc)
        assert [(n, k) for n, k, _unused in fields] == [
            ("db", 2),
            ("collection", 2),
            ("EOF", 8),
            ("CRC", 0x12),
        ]
        h = {n: v for n, _unused, v in fields}
        key = (h["db"], h["collection"])
        ns = f"{key[0]}.{key[1]}"
        assert key in expected, f"{ns} not in prelude"
        assert key not in closed, f"{ns} reopened"
        if key not in open_now:
            open_now.add(key)
            order.append(ns)
        max_open = max(max_open, len([k for k in open_now if k[0] != ""]))
        if strict:
            assert max_open <= values["concurrent_collections"], (
                "more namespaces open than concurrent_collections"
            )
            assert not any(k == ("", "oplog") for k in closed), "a namespace after the oplog"
        if h["EOF"]:
            assert next_item() is None, "documents inside an EOF block"
            if strict:
                assert data_blocks.get(ns, 0) >= 1, f"{ns} closed without a data block"
            assert h["CRC"] & 0xFFFFFFFFFFFFFFFF == crcs.get(key, 0), f"CRC mismatch for {ns}"
            open_now.discard(key)
            closed.append(key)
            continue
        assert h["CRC"] == 0
        data_blocks[ns] = data_blocks.get(ns, 0) + 1
        counts.setdefault(ns, 0)
        while True:
            item = next_item(16 * 1024 * 1024 + (16 * 1024 if key == ("", "oplog") else 0))
            if item is None:
                break
            crcs[key] = spec_crc(crcs.get(key, 0), item)
            counts[ns] += 1
    assert pos == len(data), "bytes after the last block"
    assert not open_now, "namespaces never closed"
    assert set(closed) == set(expected), "prelude entries missing from the body"
    if strict:
        special = [
            ns for ns in order if ns in ("admin.system.users", "admin.system.roles", "admin.system.version")
        ]
        assert order[: len(special)] == special, "admin users/roles/version must come first"
        if ".oplog" in order:
            assert order[-1] == ".oplog", "the oplog must come last"
    return {
        "header": values,
        "prelude": prelude,
        "namespaces": counts,
        "data_blocks": data_blocks,
        "max_open": max_open,
        "order": order,
    }
