"""Oplog archiving and point-in-time replay against their raw ceilings, on the replica-set stand-in and moto.

1. Archive rate: entries per second one archiving run copies into a slice (read, compress, upload, manifest)
   against reading the same oplog range alone with ``find_raw_batches`` (aim: ratio >= 0.9).
2. Lag under a steady writer: the archiver run every ``OFFSITE_BENCH_OPLOG_INTERVAL`` seconds (default 1) while a
   writer inserts; the lag is the age of the newest archived entry right after each run. At the default 5-minute
   interval the worst lag is the interval plus one run's duration for 5 minutes of writes (scaled from the rate).
3. Replay rate: entries per second ``replay_to_point`` applies (download, decompress, decode, applyOps batches)
   against sending the same entries with raw ``applyOps`` batches of the same size (aim: ratio >= 0.9).

Entries: ``OFFSITE_BENCH_OPLOG_ENTRIES`` (default 20000), rounds ``OFFSITE_BENCH_OPLOG_ROUNDS`` (default 3; the best
of each is taken). Run: ``.cache/venv/bin/python -m bench oplog``.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / ".cache" / "collections"))
sys.path.insert(0, str(ROOT / "tests"))

import bson  # noqa: E402
from bson.codec_options import CodecOptions  # noqa: E402
from bson.raw_bson import RawBSONDocument  # noqa: E402
from bson.timestamp import Timestamp  # noqa: E402
from support import servers  # noqa: E402
from support.replset import start_replica_set  # noqa: E402

from ansible_collections.offsite.mongodb.plugins.module_utils.catalog import Catalog  # noqa: E402
from ansible_collections.offsite.mongodb.plugins.module_utils.oplog_archive import archive_oplog  # noqa: E402
from ansible_collections.offsite.mongodb.plugins.module_utils.oplog_catalog import OplogCatalog  # noqa: E402
from ansible_collections.offsite.mongodb.plugins.module_utils.oplog_point_restore import replay_to_point  # noqa: E402
from ansible_collections.offsite.mongodb.plugins.module_utils.oplog_replay import OPLOG_BATCH  # noqa: E402
from ansible_collections.offsite.mongodb.plugins.module_utils.oplog_time import OplogTime  # noqa: E402
from ansible_collections.offsite.mongodb.plugins.module_utils.oplog_windows import Base, Plan  # noqa: E402
from ansible_collections.offsite.mongodb.plugins.module_utils.restore_plan import RestorePlan  # noqa: E402

ENTRIES = int(os.environ.get("OFFSITE_BENCH_OPLOG_ENTRIES", "20000"))
ROUNDS = int(os.environ.get("OFFSITE_BENCH_OPLOG_ROUNDS", "3"))
INTERVAL = float(os.environ.get("OFFSITE_BENCH_OPLOG_INTERVAL", "1"))
RAW = CodecOptions(document_class=RawBSONDocument)


def fill(client, count: int, start: int) -> None:
    orders = client.shop.orders
    for first in range(start, start + count, 1000):
        orders.insert_many(
            [{"_id": i, "n": i, "pad": "x" * 150} for i in range(first, min(first + 1000, start + count))]
        )


def read_alone(client, after: OplogTime, last: OplogTime) -> float:
    """Seconds to read the entries ``(after, last]`` with raw batches, nothing else."""
    oplog = client.get_database("local", codec_options=RAW)["oplog.rs"]
    clock = time.perf_counter()
    for _batch in oplog.find_raw_batches({"ts": {"$gt": Timestamp(*after), "$lte": Timestamp(*last)}}):
        pass  # the batches as received: what an archiver cannot avoid
    return time.perf_counter() - clock


def without_ui(raw: bytes) -> bytes:
    """The entry as a replay must send it (no source collection UUID), encoded before the clock starts."""
    entry = bson.decode(raw)
    entry.pop("ui", None)
    return bson.encode(entry)


def raw_apply(client, entries) -> float:
    clock = time.perf_counter()
    for start in range(0, len(entries), OPLOG_BATCH):
        client.admin.command(
            "applyOps", [RawBSONDocument(raw) for raw in entries[start : start + OPLOG_BATCH]]
        )
    return time.perf_counter() - clock


def main() -> None:
    with (
        tempfile.TemporaryDirectory(prefix="offsite-bench-oplog-") as scratch,
        contextlib.ExitStack() as stack,
    ):
        work = Path(scratch)
        endpoint = stack.enter_context(contextlib.contextmanager(servers.s3_endpoint)(work))
        source = start_replica_set(work, set_name="rsb", oplog_size=1 << 30)
        stack.callback(source.stop)
        target = start_replica_set(work, set_name="rtb")
        stack.callback(target.stop)
        s3 = endpoint.client()
        s3.create_bucket(Bucket="offsite-bench-oplog")
        src, dst = source.client("primary"), target.client("primary")
        archive_rates, read_rates, replay_rates, apply_rates = [], [], [], []
        for round_number in range(ROUNDS):
            oplog = OplogCatalog(Catalog(s3, "offsite-bench-oplog", f"round{round_number}"), "rsb")
            start = archive_oplog(src, oplog)  # a new chain: the position to archive from
            after = OplogTime(start.slice["last"]["t"], start.slice["last"]["i"])
            fill(src, ENTRIES, (round_number + 1) * 10_000_000)
            newest = src.local["oplog.rs"].find_one({}, sort=[("$natural", -1)])["ts"]
            last = OplogTime(newest.time, newest.inc)
            read_rates.append(ENTRIES / read_alone(src, after, last))
            clock = time.perf_counter()
            run = archive_oplog(src, oplog)
            archive_rates.append(run.slice["count"] / (time.perf_counter() - clock))
            piece = next(s for s in oplog.slices(oplog.list()) if s.last == last)
            dst.drop_database("shop")
            dst.shop.create_collection("orders")
            plan = Plan(target=last, base=Base("bench", after), slices=[piece], reach=last)
            clock = time.perf_counter()
            report = replay_to_point(dst, oplog, plan, RestorePlan())
            replay_rates.append(report.entries_applied / (time.perf_counter() - clock))
            entries = [without_ui(raw.raw) for raw in src.get_database("local", codec_options=RAW)["oplog.rs"].find(
                {"ts": {"$gt": Timestamp(*after), "$lte": Timestamp(*last)}})]  # fmt: skip
            dst.drop_database("shop")
            dst.shop.create_collection("orders")
            apply_rates.append(len(entries) / raw_apply(dst, entries))
            assert dst.shop.orders.count_documents({}) == ENTRIES
        best = max(archive_rates)
        print(
            f"archive: {best:,.0f} entries/s vs oplog read alone {max(read_rates):,.0f} entries/s "
            f"-> ratio {best / max(read_rates):.2f} (aim >= 0.9; rounds: {', '.join(f'{r:,.0f}' for r in archive_rates)})"
        )
        print(
            f"replay:  {max(replay_rates):,.0f} entries/s vs raw applyOps {max(apply_rates):,.0f} entries/s "
            f"-> ratio {max(replay_rates) / max(apply_rates):.2f} (aim >= 0.9)"
        )

        measure_lag(source, OplogCatalog(Catalog(s3, "offsite-bench-oplog", "lag"), "rsb"), best)


def measure_lag(source, oplog, best: float) -> None:
    """Lag after each run of the archiver while a writer inserts steadily; scaled to the default interval."""
    src = source.client("primary")
    archive_oplog(src, oplog)
    stop = threading.Event()
    written = [0]

    def writer() -> None:
        client = source.client("primary")
        while not stop.is_set():
            client.shop.lag.insert_one({"n": written[0]})
            written[0] += 1
            time.sleep(0.002)

    thread = threading.Thread(target=writer, daemon=True)
    clock = time.perf_counter()
    thread.start()
    lags, durations = [], []
    for _unused in range(8):
        time.sleep(INTERVAL)
        run = archive_oplog(src, oplog)
        lags.append(time.time() - run.position["t"])
        durations.append(run.duration_seconds)
    stop.set()
    thread.join()
    rate = written[0] / (time.perf_counter() - clock)
    per_default = rate * 300
    run_at_default = per_default / best
    print(
        f"lag:     writer {rate:,.0f} writes/s, interval {INTERVAL:g} s: lag after each run max {max(lags):.2f} s, "
        f"mean {sum(lags) / len(lags):.2f} s (runs {max(durations):.2f} s at most); at the default 300 s "
        f"interval: {per_default:,.0f} entries per run, ~{run_at_default:.1f} s per run, worst lag "
        f"~{300 + run_at_default:.0f} s"
    )


if __name__ == "__main__":
    main()
