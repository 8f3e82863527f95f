"""Archive engine benchmark: native dump and restore against raw pymongo limits, on two servers, in one run.

Servers (``bench/data_servers.py``; ``OFFSITE_BENCH_SERVERS``, default ``fast,nx``): the fast in-memory
server of ``bench/fast_server.py``, whose serving costs almost nothing so the engine's own cost shows
(``OFFSITE_BENCH_FAST_MB``, default 256), and nx-27017 filled here (``OFFSITE_BENCH_ARCHIVE_MB``, default
64; the issue's figure is 1024). The data (``bench/dataset.py``) is split over two databases of equal size (a few large collections and
many small ones with mixed document sizes), so peak memory can be compared at half and full size.

Printed per server (each baseline measured in the same run, on the same server):
  raw read                  find_raw_batches of every collection, 4 at once, bytes discarded
  dump none/gzip/zstd       wall ratio to the raw read (1.0 = the limit), CPU-seconds per GiB of BSON
                            (the dump's own process, every thread), archive size, peak RSS
  restore                   wall ratio to raw insert_many of the same documents
``server CPU`` is what the server process used meanwhile (nx-27017 uses a whole core; the fast one little).
Each step runs ``OFFSITE_BENCH_ARCHIVE_ROUNDS`` times (default 3; read and dumps take turns) and the best
round counts (``measure.best_of``): on a shared 2-core machine one run varies by a quarter.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Optional

import pymongo

from bench.data_servers import DATABASES, served, server_kinds
from bench.measure import ROOT, Measured, best_of, raw_insert, raw_read, report, run_worker

sys.path.insert(0, str(ROOT / ".cache" / "collections"))

COMPRESSIONS = ("none", "gzip", "zstd")
ROUNDS = int(os.environ.get("OFFSITE_BENCH_ARCHIVE_ROUNDS", "3"))


def worker(argv) -> None:
    """Runs in a child process so that its peak RSS and CPU time are its own: ``worker KIND URI ARGS``."""
    from ansible_collections.offsite.mongodb.plugins.module_utils import dump, restore  # noqa: PLC0415

    kind, uri = argv[0], argv[1]
    client = pymongo.MongoClient(uri)

    def read() -> int:
        return raw_read(client, json.loads(argv[2]))

    def dump_step() -> int:
        compression, databases, dest = argv[2], json.loads(argv[3]), argv[4]
        with open(dest, "wb") as sink:
            plan = dump.DumpPlan(databases=databases, compression=compression)
            return dump.dump_archive(client, sink, plan).bytes

    def restore_step() -> int:
        plan = restore.RestorePlan(ns_from=["bench_*.*"], ns_to=["restored_*.*"], drop=True)
        with open(argv[2], "rb") as source:
            return restore.restore_archive(client, source, plan).documents

    def insert() -> int:
        return raw_insert(client, argv[2], DATABASES)

    report({"read": read, "dump": dump_step, "restore": restore_step, "insert": insert}[kind])


def run(*args: str, server_pid: Optional[int] = None) -> Measured:
    return run_worker("bench_archive", *args, server_pid=server_pid)


def suite(label: str, uri: str, pid: Optional[int], workdir: Path, data_bytes: int) -> None:
    """Every measurement against one server; prints as it goes."""
    gib = data_bytes / 2**30
    both = json.dumps(list(DATABASES))
    print(f"-- {label}: {data_bytes / 2**20:.0f} MiB BSON in 2 databases x 33 collections", flush=True)
    rounds = {"read": [], **{compression: [] for compression in COMPRESSIONS}}
    for _round in range(ROUNDS):
        rounds["read"].append(run("read", uri, both, server_pid=pid))
        for compression in COMPRESSIONS:
            dest = str(workdir / f"bench.{compression}")
            rounds[compression].append(run("dump", uri, compression, both, dest, server_pid=pid))
    read = best_of(rounds["read"])
    print(f"raw read (4 collections at once): {read.seconds:6.2f} s, {read.cpu / gib:5.1f} CPU-s/GiB, "
          f"peak RSS {read.peak_mib:4.0f} MiB, server CPU {read.server_cpu:5.1f} s", flush=True)  # fmt: skip
    archives = {}
    for compression in COMPRESSIONS:
        dest = str(workdir / f"bench.{compression}")
        result = best_of(rounds[compression])
        archives[compression] = dest
        size = os.path.getsize(dest) / 2**20
        print(f"dump {compression:4}: {read.seconds / result.seconds:4.2f} of the raw read ({result.seconds:6.2f} s), "
              f"{result.cpu / gib:5.1f} CPU-s/GiB ({result.cpu / max(read.cpu, 1e-9):4.1f}x raw), "
              f"{size:4.0f} MiB file, peak RSS {result.peak_mib:4.0f} MiB, server CPU {result.server_cpu:5.1f} s",
              flush=True)  # fmt: skip
    half = run("dump", uri, "none", json.dumps([DATABASES[0]]), str(workdir / "half.none"))
    full = run("dump", uri, "none", both, str(workdir / "again.none"))
    print(f"peak RSS of dump none: half data set {half.peak_mib:.0f} MiB, full {full.peak_mib:.0f} MiB")
    insert = best_of([run("insert", uri, archives["none"], server_pid=pid) for _round in range(ROUNDS)])
    restored = best_of([run("restore", uri, archives["none"], server_pid=pid) for _round in range(ROUNDS)])
    print(f"restore: {insert.seconds / restored.seconds:.2f} of raw insert_many ({restored.seconds:.2f} s vs "
          f"{insert.seconds:.2f} s), {restored.cpu / gib:5.1f} CPU-s/GiB vs {insert.cpu / gib:5.1f}, "
          f"peak RSS {restored.peak_mib:.0f} MiB", flush=True)  # fmt: skip


def main() -> None:
    for kind in server_kinds():
        with tempfile.TemporaryDirectory(prefix="bench-archive-") as tmp, served(kind, Path(tmp)) as info:
            label, uri, pid, data = info
            suite(label, uri, pid, Path(tmp), data)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        worker(sys.argv[2:])
    else:
        main()
