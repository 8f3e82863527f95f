"""Runs of whole BSON documents: documents back to back, as an archive block or a wire batch holds them.

The archive reader hands documents on as runs (one slice of its buffer per run, framing already
checked), so that nothing downstream pays for a Python object per document unless it needs one. These
helpers take runs apart where a caller does: ``split`` for the documents one by one, ``cut`` for runs
within a size and count limit.
"""

from __future__ import annotations

from typing import Iterator, List, Sequence, Tuple

from ansible_collections.offsite.mongodb.plugins.module_utils.archive_format import (
    MAX_OPLOG_DOCUMENT,
    iter_document_lengths,
)


def split(runs: Sequence[bytes]) -> List[bytes]:
    """The documents of ``runs``, one ``bytes`` each, in order; ``ValueError`` if a run is not whole documents."""
    documents: List[bytes] = []
    for run in runs:
        pos = 0
        for length in iter_document_lengths(run, MAX_OPLOG_DOCUMENT):
            documents.append(run[pos : pos + length])
            pos += length
    return documents


def cut(
    runs: Sequence[bytes], count: int, max_bytes: int, max_documents: int
) -> Iterator[Tuple[List[bytes], int]]:
    """``runs`` (``count`` documents) as (runs, documents) pieces of at most ``max_bytes`` (or one larger
    document) and ``max_documents`` each, in order. Runs that fit already are passed on whole, untouched."""
    if not runs:
        return
    if count <= max_documents and sum(map(len, runs)) <= max_bytes:
        yield list(runs), count
        return
    piece: List[bytes] = []
    size = 0
    for document in split(runs):
        if piece and (size + len(document) > max_bytes or len(piece) >= max_documents):
            yield piece, len(piece)
            piece, size = [], 0
        piece.append(document)
        size += len(document)
    if piece:
        yield piece, len(piece)
