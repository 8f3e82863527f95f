"""Oplog positions, chains, windows, gaps, plans and retention of slices: pure logic, no servers."""

from __future__ import annotations

import datetime
import uuid

import bson
import bson.regex
import pytest
from bson.binary import Binary, UuidRepresentation
from bson.int64 import Int64
from bson.timestamp import Timestamp

from ansible_collections.offsite.mongodb.plugins.module_utils.catalog_layout import CatalogLayout
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.oplog_entry_scan import scan_entry
from ansible_collections.offsite.mongodb.plugins.module_utils.oplog_replay import _without_uuid
from ansible_collections.offsite.mongodb.plugins.module_utils.oplog_slices import Gap, Slice
from ansible_collections.offsite.mongodb.plugins.module_utils.oplog_time import (
    MAX_INC,
    OplogTime,
    parse_target,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.oplog_windows import (
    Base,
    chains,
    gaps,
    gaps_to_delete,
    plan_to,
    slices_to_keep,
    windows,
)

T = OplogTime


def piece(first, last, after):
    return Slice("rs0", T(*first), T(*last), T(*after) if after else None, 10, 1, {"key": "k"})


SLICES = [
    piece((100, 1), (200, 5), None),
    piece((200, 6), (300, 2), (200, 5)),
    piece((300, 3), (400, 1), (300, 2)),
    piece((500, 1), (600, 1), (450, 1)),  # after a break: (400,1] .. (450,1] is missing
]


def test_names_sort_as_times_and_targets_parse():
    assert T(99, 7).name < T(100, 0).name < T(100, 12).name
    assert parse_target("1795799130:4") == T(1795799130, 4)
    assert parse_target("Timestamp(1795799130, 4)") == T(1795799130, 4)
    iso = parse_target("2026-11-27T17:05:30Z")
    assert iso.inc == MAX_INC and iso.moment == datetime.datetime(
        2026, 11, 27, 17, 5, 30, tzinfo=datetime.timezone.utc
    )
    for bad in ("", "12345"):
        with pytest.raises(OffsiteError, match="is not a point in time"):
            parse_target(bad)
    with pytest.raises(OffsiteError, match="is not a time: use ISO 8601"):
        parse_target("yesterday-ish")


def test_layout_knows_slice_keys_and_never_calls_them_backups():
    layout = CatalogLayout("p")
    key = layout.slice_key("rs0", T(100, 1), T(200, 5), "zstd")
    assert key == "p/rs0/oplog/0000000100.0000000001-0000000200.0000000005/oplog.bson.zst"
    parsed = layout.parse_slice(key)
    assert (parsed.set_name, parsed.first, parsed.last, parsed.is_manifest) == (
        "rs0",
        T(100, 1),
        T(200, 5),
        False,
    )
    assert layout.parse(key) is None
    assert layout.parse_slice("p/rs0/oplog/notes.txt") is None
    assert (
        layout.parse_slice("p/rs0/oplog/0000000200.0000000001-0000000100.0000000001/x") is None
    )  # ends before it starts


def test_chains_windows_and_gaps():
    found = chains(SLICES)
    assert [(c.start, c.last) for c in found] == [(T(100, 1), T(400, 1)), (T(450, 1), T(600, 1))]
    bases = [Base("b1", T(250, 0)), Base("b2", T(420, 0)), Base("b3", T(550, 0))]
    assert windows(bases, found) == [(T(250, 0), T(400, 1)), (T(420, 0), T(420, 0)), (T(550, 0), T(600, 1))]
    marker = Gap("rs0", T(400, 1), T(430, 1), "rollover", "2026-11-27T00:00:00Z")
    holes = gaps(found, [marker])
    assert [(h["from"]["t"], h["to"]["t"], h["reason"]) for h in holes] == [(400, 450, "rollover")]
    assert [(h["reason"]) for h in gaps(found, [])] == ["missing"]


def test_plans_pick_the_newest_base_that_reaches_and_refuse_the_rest():
    found = chains(SLICES)
    bases = [Base("b1", T(250, 0)), Base("b3", T(550, 0))]
    plan = plan_to(T(350, 0), bases, found)
    assert plan.base.backup_id == "b1" and [s.first for s in plan.slices] == [T(200, 6), T(300, 3)]
    assert plan_to(T(250, 0), bases, found).slices == []  # exactly the base's end: nothing to replay
    assert plan_to(None, bases, found).target == T(600, 1)
    with pytest.raises(OffsiteError, match=r"has a gap .*newest reachable point before it is .*\(400:1\)"):
        plan_to(T(420, 0), bases, found)
    with pytest.raises(OffsiteError, match=r"archived only up to .*\(600:1\)"):
        plan_to(T(700, 0), bases, found)
    with pytest.raises(OffsiteError, match="no base backup is consistent at or before it"):
        plan_to(T(150, 0), bases, found)


def test_retention_keeps_what_kept_bases_need_and_the_newest_slice():
    keep, delete = slices_to_keep(SLICES, [Base("b", T(310, 0))])
    assert [s.first for s in delete] == [T(100, 1), T(200, 6)]
    assert [s.first for s in keep] == [T(300, 3), T(500, 1)]
    keep, delete = slices_to_keep(SLICES, [])
    assert [s.first for s in keep] == [T(500, 1)]  # where the archiver continues
    marker = Gap("rs0", T(50, 1), T(90, 1), "rollover", "")
    assert gaps_to_delete([marker], [Base("b", T(310, 0))]) == [marker]


def test_replayed_entries_lose_only_their_top_level_ui():
    ui = Binary.from_uuid(uuid.uuid4(), UuidRepresentation.STANDARD)
    entry = {"op": "i", "ns": "shop.orders", "ui": ui, "o": {"_id": 1, "ui": ui}, "ts": Timestamp(5, 1),
             "t": Int64(1), "v": Int64(2), "wall": datetime.datetime(2026, 1, 1)}  # fmt: skip
    raw = bson.encode(entry)
    top = scan_entry(raw)
    assert (top.op, top.ns, top.ts, top.nests_apply_ops) == ("i", "shop.orders", (5, 1), False)
    sent = bson.decode(bytes(_without_uuid(raw, top).raw))
    assert "ui" not in sent and sent["o"] == {"_id": 1, "ui": ui}
    assert sent == {k: v for k, v in entry.items() if k != "ui"}
    plain = bson.encode({k: v for k, v in entry.items() if k != "ui"})
    assert bytes(_without_uuid(plain, scan_entry(plain)).raw) == plain  # untouched bytes
    txn = {"op": "c", "ns": "admin.$cmd", "o": {"applyOps": [{"op": "i", "ns": "a.b", "ui": ui, "o": {"_id": 2}}]},
           "ts": Timestamp(5, 2)}  # fmt: skip
    raw = bson.encode(txn)
    assert scan_entry(raw).nests_apply_ops
    nested = _without_uuid(raw, scan_entry(raw))
    assert "ui" not in nested["o"]["applyOps"][0]
    odd = bson.encode({"op": "i", "ns": "a.b", "x": bson.regex.Regex("^a"), "o": {}, "ts": Timestamp(5, 3)})
    assert scan_entry(odd) is None  # a type the walk does not know: the caller decodes instead
    assert "ui" not in _without_uuid(odd, None)
