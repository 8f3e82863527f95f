"""Whole BSON documents, already bytes, handed to bson's encoder so that it copies them as they are.

bson copies a ``RawBSONDocument`` into a command without decoding it, but the class checks each
document's length in Python when it is made: about 2.8 µs a document here, most of a restore's
per-document cost. The encoder itself only asks an element for ``_type_marker == 101`` and its ``raw``
bytes, so ``RawBytes`` is that and nothing more (about 1 µs). Callers hand over documents they have
already framed (length prefix and trailing null checked). Should a bson release stop recognising it,
``wrap`` falls back to ``RawBSONDocument`` (checked once, on first use, by encoding both).

An insert command's documents travel in an OP_MSG document sequence: whole documents back to back.
pymongo writes each raw element into it verbatim, so ``wrap_runs`` hands over a run of documents (see
``document_runs``) as one element and the server reads the same bytes as if each had been wrapped: no
Python work per document. That holds for the sequence only, not for an array inside a BSON document,
so it is for ``insert`` commands alone, and it is checked once, on first use, by building the message
both ways with pymongo's own encoder; should the bytes differ, the runs are split and wrapped one by one.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, List, Sequence, Tuple

try:
    import bson
    from bson.raw_bson import RawBSONDocument
except (
    ImportError
):  # pragma: no cover - hosts without pymongo fail in mongo_connection.connect with a clear message
    bson = RawBSONDocument = None

from ansible_collections.offsite.mongodb.plugins.module_utils import document_runs

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


@functools.lru_cache(maxsize=1)
def runs_travel_whole() -> bool:
    """Whether pymongo puts a run wrapped as one element into an insert's document sequence byte for byte
    as the same documents wrapped one by one (pymongo's message encoder, C or Python, is asked)."""
    if document_type() is not RawBytes:
        return False
    try:
        from bson.codec_options import DEFAULT_CODEC_OPTIONS  # noqa: PLC0415
        from bson.son import SON  # noqa: PLC0415
        from pymongo import message  # noqa: PLC0415

        documents = [
            bson.encode({"_id": 1}),
            bson.encode({"_id": 2, "n": [1, "two"]}),
            bson.encode({"x": None}),
        ]

        def messages(elements: List[Any]) -> Tuple[bytes, bytes]:
            """The message as sent plain (C encoder when built) and as built for compression (Python)."""
            command = SON([("insert", "probe"), ("documents", elements), ("ordered", False)])
            sent = message._op_msg(0, command, "probe", None, DEFAULT_CODEC_OPTIONS)[1]
            body = message._op_msg_no_header(
                0, SON([("insert", "probe")]), "documents", elements, DEFAULT_CODEC_OPTIONS
            )
            return sent[:4] + sent[8:], body[0]  # the request id aside

        runs = [RawBytes(b"".join(documents[:2])), RawBytes(documents[2])]
        return messages(runs) == messages([RawBytes(doc) for doc in documents])
    except Exception:
        return False


def wrap_runs(runs: Sequence[bytes]) -> List[Any]:
    """Runs of documents ready for an ``insert`` command's ``documents`` (and for nothing else)."""
    if runs_travel_whole():
        return list(map(RawBytes, runs))
    return wrap(document_runs.split(runs))
