"""Where an archiving run starts: the position's entry must come first with the term it was archived with;
a different term or a missing entry is a rollback, an oldest entry past it a rollover (no server needed)."""

from __future__ import annotations

import bson
from bson.int64 import Int64
from bson.timestamp import Timestamp

from ansible_collections.offsite.mongodb.plugins.module_utils.oplog_archive import (
    OplogReader,
    Position,
    _choose_start,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.oplog_time import OplogTime


class _Cursor(list):
    def close(self):
        self.closed = True


class _Oplog:
    """Just what the run reads: raw batches of a ts range, the oldest entry, one entry by ts."""

    def __init__(self, entries):
        self.entries = entries  # [(secs, inc, term)]

    def find_raw_batches(self, query):
        low, high = query["ts"]["$gte"], query["ts"]["$lte"]
        docs = [bson.encode({"ts": Timestamp(s, i), "t": Int64(t), "op": "n"}) for s, i, t in self.entries
                if low <= Timestamp(s, i) <= high]  # fmt: skip
        return _Cursor([b"".join(docs)] if docs else [])

    def find_one(self, query, sort=None, projection=None):
        found = [{"ts": Timestamp(s, i), "t": Int64(t)} for s, i, t in self.entries
                 if "ts" not in query or query["ts"] == Timestamp(s, i)]  # fmt: skip
        return found[0] if found else None


class _Reader:
    def __init__(self, entries):
        self.raw = self.decoded = _Oplog(entries)
        self.end = lambda newest, query=None: OplogReader.end(self, newest, query)
        self.entry_at = lambda point: OplogReader.entry_at(self, point)
        self.problem_at = lambda position: OplogReader.problem_at(self, position)


MAJORITY = OplogTime(30, 1)


def test_the_position_entry_with_its_term_starts_the_range():
    reader = _Reader([(10, 1, 1), (20, 1, 1), (30, 1, 1)])
    position, opened, problems = _choose_start(reader, [Position(OplogTime(10, 1), 1, "slice")], MAJORITY)
    assert position.point == OplogTime(10, 1) and opened.first == OplogTime(20, 1) and problems == []


def test_another_term_at_the_position_is_a_rollback():
    reader = _Reader([(10, 1, 2), (20, 1, 2), (30, 1, 2)])
    position, opened, problems = _choose_start(reader, [Position(OplogTime(10, 1), 1, "slice")], MAJORITY)
    assert position is None and opened.mismatch
    assert problems[0][0] == "rollback" and "now has term 2, archived with term 1" in problems[0][1]


def test_a_missing_position_is_a_rollback_and_an_overwritten_one_a_rollover():
    reader = _Reader([(10, 1, 1), (20, 2, 2), (30, 1, 2)])
    _unused, _unused, problems = _choose_start(reader, [Position(OplogTime(20, 1), 1, "slice")], MAJORITY)
    assert problems[0][0] == "rollback" and "no longer in the oplog" in problems[0][1]
    reader = _Reader([(25, 1, 1), (30, 1, 1)])
    _unused, _unused, problems = _choose_start(reader, [Position(OplogTime(20, 1), 1, "slice")], MAJORITY)
    assert problems[0][0] == "rollover"


def test_a_newer_base_backup_takes_over_when_the_slice_position_is_gone():
    reader = _Reader([(25, 1, 1), (28, 1, 1), (30, 1, 1)])
    candidates = [Position(OplogTime(20, 1), 1, "slice"), Position(OplogTime(25, 1), None, "backup b")]
    position, opened, problems = _choose_start(reader, candidates, MAJORITY)
    assert position.source == "backup b" and opened.first == OplogTime(28, 1)
    assert [p[0] for p in problems] == ["rollover"]
