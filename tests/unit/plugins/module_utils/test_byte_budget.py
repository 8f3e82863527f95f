"""The dump's memory budget: reservations wait while the budget is spent, and the dump's shares fit in it."""

from __future__ import annotations

import threading
import time
from typing import Iterator, List

import bson
import pytest

from ansible_collections.offsite.mongodb.plugins.module_utils.archive_format import ArchiveHeader
from ansible_collections.offsite.mongodb.plugins.module_utils.archive_writer import ArchiveWriter
from ansible_collections.offsite.mongodb.plugins.module_utils.byte_budget import (
    BATCH_RESERVATION,
    COMPRESSION_SHARE,
    DEFAULT_DUMP_BUDGET,
    MAX_REPLY,
    MIN_DUMP_BUDGET,
    PYMONGO_COPIES,
    TARGET_REPLY,
    BatchReservation,
    ByteBudget,
    MiB,
    read_share,
    reply_documents,
    upload_concurrency,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.dump import _CollectionCopier
from ansible_collections.offsite.mongodb.plugins.module_utils.dump_plan import DumpNamespace, DumpPlan
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError


def test_a_reservation_waits_until_the_budget_has_room():
    budget = ByteBudget(100)
    entered = threading.Event()

    def second() -> None:
        with budget.reserve(60):
            entered.set()

    with budget.reserve(60):
        waiter = threading.Thread(target=second)
        waiter.start()
        assert not entered.wait(0.2)  # 60 + 60 > 100: it waits
    assert entered.wait(2)
    waiter.join()
    assert budget.reserved == 0 and budget.peak == 60


def test_a_reservation_larger_than_the_budget_goes_through_alone():
    budget = ByteBudget(10)
    with budget.reserve(50):
        assert budget.reserved == 50
    assert budget.reserved == 0


def test_a_budget_must_be_positive():
    with pytest.raises(ValueError, match="positive"):
        ByteBudget(0)


@pytest.mark.parametrize("budget", [MIN_DUMP_BUDGET, DEFAULT_DUMP_BUDGET, 256 * MiB, 1024 * MiB])
@pytest.mark.parametrize("part_size", [5 * MiB, 8 * MiB, 16 * MiB])
def test_reads_compression_and_upload_parts_fit_in_the_budget(budget, part_size):
    reads = read_share(budget)
    parts = upload_concurrency(budget, part_size, wanted=64)
    assert reads >= BATCH_RESERVATION  # at least one batch can always be read
    assert parts >= 1
    if parts > 1:  # more than the one part that must be in flight only when it fits
        assert reads + COMPRESSION_SHARE + (parts + 1) * part_size <= budget
    assert upload_concurrency(budget, part_size, wanted=2) <= 2  # never more than the catalog's setting


def test_the_dump_plan_refuses_a_budget_too_small_to_read_a_batch():
    with pytest.raises(OffsiteError, match=r"^memory_budget must be at least 96 MiB, got 10 MiB"):
        DumpPlan(memory_budget=10 * MiB).check()


class _SlowReader:
    """Batches of one document each, slowly, counting how many are in memory at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.held = 0
        self.most = 0
        self.batch_size = None
        self.asked = {}

    def batches(self, item: DumpNamespace, batch_size=None) -> Iterator[bytes]:
        self.asked[item.ns] = batch_size
        for number in range(3):
            with self.lock:
                self.held += 1
                self.most = max(self.most, self.held)
            time.sleep(0.02)
            yield bson.encode({"_id": number})
            with self.lock:
                self.held -= 1


class _Sink:
    def __init__(self) -> None:
        self.chunks: List[bytes] = []

    def write(self, data: bytes) -> int:
        self.chunks.append(bytes(data))
        return len(data)


def test_the_copier_reads_no_more_batches_at_once_than_the_budget_holds():
    items = [DumpNamespace("d", f"c{i}", "collection", {}, f"c{i}") for i in range(8)]
    writer = ArchiveWriter(_Sink())
    writer.write_prelude(ArchiveHeader("7.0.0", "test", concurrent_collections=8), [i.entry() for i in items])
    reader = _SlowReader()
    budget = ByteBudget(2 * BATCH_RESERVATION)  # room for two batches, with eight collections open
    copier = _CollectionCopier(writer, reader, None, budget)
    copier.copy_all(items, parallel=8)
    writer.finish()
    assert reader.most == 2
    assert budget.peak == 2 * BATCH_RESERVATION
    assert all(result.documents == 3 for result in copier.results.values())


def test_replies_are_asked_for_by_a_batch_size_that_makes_them_about_the_target_size():
    assert reply_documents(count=1000, size=1000 * 1024) == TARGET_REPLY // 1024
    assert (
        reply_documents(count=10, size=10 * 4 * MiB) == 1
    )  # documents larger than the target: one at a time
    assert reply_documents(count=0, size=0) is None  # an empty or unknown collection: the server decides
    assert reply_documents(count=5, size=0) is None


def test_a_batch_reserves_twice_its_expected_size_or_the_largest_seen_and_the_worst_case_when_unknown():
    assert BatchReservation(None, 0, 0).size() == BATCH_RESERVATION
    assert (
        BatchReservation(500, 0, 0).size() == BATCH_RESERVATION
    )  # a batch size, but no average to size it by
    reservation = BatchReservation(TARGET_REPLY // 1024, count=1000, size=1000 * 1024)
    assert reservation.size() == PYMONGO_COPIES * 2 * TARGET_REPLY
    reservation.seen(3 * TARGET_REPLY)  # documents larger than the average came in one batch
    assert reservation.size() == PYMONGO_COPIES * 3 * TARGET_REPLY
    reservation.seen(64 * MiB)  # never more than the largest reply a server sends
    assert reservation.size() == BATCH_RESERVATION == PYMONGO_COPIES * MAX_REPLY


def test_collections_of_known_size_are_read_several_at_once_within_the_budget():
    items = [
        DumpNamespace("d", f"c{i}", "collection", {}, f"c{i}", count=1000, size=1000 * 512) for i in range(8)
    ]
    writer = ArchiveWriter(_Sink())
    writer.write_prelude(ArchiveHeader("7.0.0", "test", concurrent_collections=8), [i.entry() for i in items])
    reader = _SlowReader()
    budget = ByteBudget(read_share(DEFAULT_DUMP_BUDGET))
    copier = _CollectionCopier(writer, reader, None, budget)
    copier.copy_all(items, parallel=4)
    writer.finish()
    assert reader.most == 4  # every open collection reads (the worst case would allow one)
    assert set(reader.asked.values()) == {TARGET_REPLY // 512}
    assert budget.peak == 4 * PYMONGO_COPIES * 2 * TARGET_REPLY <= read_share(DEFAULT_DUMP_BUDGET)
