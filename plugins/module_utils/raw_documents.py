"""Whole BSON documents, already bytes, handed to bson's encoder so that it copies them as they are.

bson copies a ``RawBSONDocument`` into a command without decoding it, but the class checks each
document's length in Python when it is made: about 2.8 µs a document here, most of a restore's
per-document cost. The encoder itself only asks an element for ``_type_marker == 101`` and its ``raw``
bytes, so ``RawBytes`` is that and nothing more (about 1 µs). Callers hand over documents they have
already framed (length prefix and trailing null checked). Should a bson release stop recognising it,
``wrap`` falls back to ``RawBSONDocument`` (checked once, on first use, by encoding both).
"""

from __future__ import annotations

import functools
from typing import Any, Callable, List, Sequence

try:
    import bson
    from bson.raw_bson import RawBSONDocument
except (
    ImportError
):  # pragma: no cover - hosts without pymongo fail in mongo_connection.connect with a clear message
    bson = RawBSONDocument = None

RAW_BSON_MARKER = 101  # bson.raw_bson._RAW_BSON_DOCUMENT_MARKER


class RawBytes:
    """One framed BSON document that bson's encoder writes verbatim."""

    __slots__ = ("raw",)
    _type_marker = RAW_BSON_MARKER

    def __init__(self, raw: bytes) -> None:
        self.raw = raw


@functools.lru_cache(maxsize=1)
def document_type() -> Callable[[bytes], Any]:
    """``RawBytes`` when this bson encodes it exactly as a ``RawBSONDocument``, else ``RawBSONDocument``."""
    probe = bson.encode({"_id": 1, "n": [1, "two"]})
    try:
        same = bson.encode({"d": [RawBytes(probe)]}) == bson.encode({"d": [RawBSONDocument(probe)]})
    except (TypeError, ValueError, bson.errors.InvalidDocument):
        same = False
    return RawBytes if same else RawBSONDocument


def wrap(documents: Sequence[bytes]) -> List[Any]:
    """``documents`` ready to be encoded as they are (for a command's ``documents`` or ``applyOps``)."""
    return list(map(document_type(), documents))
