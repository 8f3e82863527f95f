"""Restore: parallel insertion against one insertion worker and against raw insert_many, on two servers, one run.

Servers ``OFFSITE_BENCH_SERVERS`` (fast,nx) as in ``bench_archive`` (sizes ``OFFSITE_BENCH_FAST_MB``,
``OFFSITE_BENCH_ARCHIVE_MB``). The data set is dumped without compression once a round (the least CPU per
GiB of these is the reference) and once with gzip, then each round runs, each in its own child process:
  raw insert   insert_many of every archive block, in archive order, one thread (the baseline)
  1 worker     restore_archive with parallel_collections 1, insertion_workers 1
  default      restore_archive with the module defaults (parallel_collections 4, insertion_workers 1)
  gzip         the same from the gzip archive (the default compression: inflating is its extra cost)
Medians of ``OFFSITE_BENCH_RESTORE_ROUNDS`` (3). Aims: default >= 0.9x raw insert (nx-27017),
>= 2x one worker (fast server), CPU per GiB no worse than the dump's.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Dict, List

import pymongo

from bench.data_servers import served, server_kinds
from bench.dataset import DATABASES
from bench.measure import Measured, best_of, raw_insert, report, run_worker

# name: (worker kind, archive compression, worker arguments)
KINDS = {
    "raw insert": ("insert", "none"),
    "1 worker": ("restore", "none", "1", "1"),
    "default": ("restore", "none", "4", "1"),
    "gzip": ("restore", "gzip", "4", "1"),
}


def worker(argv) -> None:
    """``worker KIND URI ARCHIVE [PARALLEL WORKERS | COMPRESSION]`` in a child process."""
    from ansible_collections.offsite.mongodb.plugins.module_utils import dump, restore  # noqa: PLC0415
    from ansible_collections.offsite.mongodb.plugins.module_utils.dump_plan import DumpPlan  # noqa: PLC0415
    from ansible_collections.offsite.mongodb.plugins.module_utils.restore_plan import RestorePlan  # noqa: PLC0415

    kind, uri, path = argv[0], argv[1], argv[2]
    client = pymongo.MongoClient(uri)

    def dump_step() -> int:
        with open(path, "wb") as sink:
            return dump.dump_archive(
                client, sink, DumpPlan(databases=list(DATABASES), compression=argv[3])
            ).bytes

    def restore_step() -> int:
        plan = RestorePlan(ns_from=["bench_*.*"], ns_to=["restored_*.*"], drop=True,
                           parallel_collections=int(argv[3]), insertion_workers=int(argv[4]))  # fmt: skip
        with open(path, "rb") as source:
            return restore.restore_archive(client, source, plan).documents

    def insert_step() -> int:
        return raw_insert(client, path, DATABASES)

    report({"dump": dump_step, "restore": restore_step, "insert": insert_step}[kind])


def suite(label: str, uri: str, pid, workdir: Path, data: int, *, rounds: int) -> None:
    gib = data / 2**30
    path = {compression: str(workdir / f"restore.{compression}.archive") for compression in ("none", "gzip")}
    # The dump's CPU is the reference: the least of ``rounds`` dumps, as one dump alone varied 1.4-3.6 CPU-s/GiB.
    dumps = [
        run_worker("bench_restore", "dump", uri, path["none"], "none", server_pid=pid)
        for _round in range(rounds)
    ]
    dumped = best_of(dumps)
    run_worker("bench_restore", "dump", uri, path["gzip"], "gzip", server_pid=pid)
    print(f"-- {label}: {data / 2**20:.0f} MiB BSON; dump (none, best of {rounds}) {dumped.seconds:.2f} s, "
          f"{dumped.cpu / gib:.1f} CPU-s/GiB", flush=True)  # fmt: skip
    runs: Dict[str, List[Measured]] = {name: [] for name in KINDS}
    for number in range(1, rounds + 1):
        for name, (kind, compression, *args) in KINDS.items():
            runs[name].append(
                run_worker("bench_restore", kind, uri, path[compression], *args, server_pid=pid)
            )
        print(
            f"  round {number}: " + ", ".join(f"{n} {r[-1].seconds:.2f} s" for n, r in runs.items()),
            flush=True,
        )
    wall = {name: statistics.median(m.seconds for m in rows) for name, rows in runs.items()}
    cpu = {name: statistics.median(m.cpu for m in rows) / gib for name, rows in runs.items()}
    for name in KINDS:
        print(f"  {name:10}: median {wall[name]:6.2f} s, {cpu[name]:5.1f} CPU-s/GiB, "
              f"peak RSS {max(m.peak_mib for m in runs[name]):4.0f} MiB, "
              f"server CPU {statistics.median(m.server_cpu for m in runs[name]):5.2f} s")  # fmt: skip
    print(f"{label}: restore (default) {wall['raw insert'] / wall['default']:.2f}x raw insert_many (aim >= 0.9), "
          f"{wall['1 worker'] / wall['default']:.2f}x one insertion worker (aim >= 2 on the fast server), "
          f"CPU {cpu['default']:.1f} CPU-s/GiB vs the dump's {dumped.cpu / gib:.1f}; "
          f"from gzip {wall['gzip']:.2f} s, {cpu['gzip']:.1f} CPU-s/GiB", flush=True)  # fmt: skip


def main() -> None:
    rounds = int(os.environ.get("OFFSITE_BENCH_RESTORE_ROUNDS", "3"))
    print(f"load {os.getloadavg()[0]:.1f}")
    for kind in server_kinds():
        with (
            tempfile.TemporaryDirectory(prefix="bench-restore-") as tmp,
            served(kind, Path(tmp)) as info,
        ):
            label, uri, pid, data = info
            suite(label, uri, pid, Path(tmp), data, rounds=rounds)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        worker(sys.argv[2:])
    else:
        main()
