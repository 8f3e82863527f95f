"""Runs of whole documents: split back into documents, cut within limits, a cut run refused."""

from __future__ import annotations

import bson
import pytest

from ansible_collections.offsite.mongodb.plugins.module_utils import document_runs

DOCUMENTS = [bson.encode({"_id": n, "pad": "x" * (n * 37 % 500)}) for n in range(40)]


def test_split_gives_the_documents_of_every_run_in_order():
    runs = [b"".join(DOCUMENTS[:1]), b"".join(DOCUMENTS[1:25]), b"".join(DOCUMENTS[25:])]
    assert document_runs.split(runs) == DOCUMENTS
    assert document_runs.split([]) == []


@pytest.mark.parametrize("damage", ["cut", "bad length"])
def test_a_run_that_does_not_end_on_a_document_boundary_is_refused(damage):
    run = b"".join(DOCUMENTS[:3])
    run = run[:-1] if damage == "cut" else run + b"\x02\x00\x00\x00"
    with pytest.raises(ValueError, match=r"past the end of the batch|trailing bytes are not a document"):
        document_runs.split([run])


def test_cut_passes_fitting_runs_on_whole_and_splits_only_what_does_not_fit():
    runs = [b"".join(DOCUMENTS[:20]), b"".join(DOCUMENTS[20:])]
    size = sum(map(len, DOCUMENTS))
    assert list(document_runs.cut(runs, 40, size, 40)) == [(runs, 40)]
    pieces = list(document_runs.cut(runs, 40, size, 15))
    assert [count for _piece, count in pieces] == [15, 15, 10]
    assert [doc for piece, _count in pieces for doc in document_runs.split(piece)] == DOCUMENTS
    alone = list(document_runs.cut(runs, 40, 1, 40))  # every document larger than the limit goes alone
    assert [piece for piece, _count in alone] == [[doc] for doc in DOCUMENTS]
    assert list(document_runs.cut([], 0, 10, 10)) == []
