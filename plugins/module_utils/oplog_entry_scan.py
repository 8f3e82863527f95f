"""The top level of a raw oplog entry, read without decoding it: ``op``, ``ns``, ``ts`` and where ``ui`` is.

A replay needs only these to filter, stop at a point, and drop the collection UUID; the entry itself
goes on as the raw bytes it was archived as (``o``/``o2`` are never touched), which keeps every BSON
type as it was and costs a walk over about ten elements. An element type this walk does not know
returns None, and the caller decodes the entry instead.
"""

from __future__ import annotations

from typing import NamedTuple, Optional, Tuple

FIXED_SIZES = {0x01: 8, 0x06: 0, 0x07: 12, 0x08: 1, 0x09: 8, 0x0A: 0, 0x10: 4, 0x11: 8, 0x12: 8, 0x13: 16,
               0x7F: 0, 0xFF: 0}  # fmt: skip
STRING_TYPES = (0x02, 0x0D, 0x0E)
DOCUMENT_TYPES = (0x03, 0x04)
BINARY = 0x05
TIMESTAMP = 0x11


class EntryTop(NamedTuple):
    """What a replay reads of an entry: ``ts`` as (secs, inc), the ``ui`` element's span (or None)."""

    op: str
    ns: str
    ts: Tuple[int, int]
    ui: Optional[Tuple[int, int]]
    nests_apply_ops: bool


def scan_entry(raw: bytes) -> Optional[EntryTop]:
    """The top level of ``raw`` (one BSON document), or None when it holds an element type not walked here."""
    op = ns = ""
    ts: Optional[Tuple[int, int]] = None
    ui = None
    nests = False
    position, end = 4, len(raw) - 1
    while position < end:
        kind = raw[position]
        name_end = raw.index(b"\x00", position + 1)
        name = raw[position + 1 : name_end]
        value = name_end + 1
        if kind in FIXED_SIZES:
            following = value + FIXED_SIZES[kind]
            if kind == TIMESTAMP and name == b"ts":
                ts = (
                    int.from_bytes(raw[value + 4 : value + 8], "little"),
                    int.from_bytes(raw[value : value + 4], "little"),
                )
        elif kind in STRING_TYPES:
            following = value + 4 + int.from_bytes(raw[value : value + 4], "little")
            if name == b"op":
                op = raw[value + 4 : following - 1].decode("utf-8")
            elif name == b"ns":
                ns = raw[value + 4 : following - 1].decode("utf-8")
        elif kind in DOCUMENT_TYPES:
            following = value + int.from_bytes(raw[value : value + 4], "little")
            if name == b"o":
                nests = raw[value + 5 : value + 14] == b"applyOps\x00"
        elif kind == BINARY:
            following = value + 5 + int.from_bytes(raw[value : value + 4], "little")
            if name == b"ui":
                ui = (position, following)
        else:
            return None
        position = following
    if ts is None or position != end:
        return None
    return EntryTop(op, ns, ts, ui, nests)


def without_span(raw: bytes, span: Tuple[int, int]) -> bytes:
    """``raw`` with the element at ``span`` cut out (its length prefix fixed)."""
    start, stop = span
    return (len(raw) - (stop - start)).to_bytes(4, "little") + raw[4:start] + raw[stop:]
