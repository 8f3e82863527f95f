"""Peak RSS of a streamed dump under the engine's memory budget: data sizes x parallel_collections x document sizes.

Each dump runs in its own child process (its ``ru_maxrss`` is the figure) and reads the fast in-memory
server (``bench/fast_server.py``), so batches arrive as fast as the dump can take them. The archive goes,
gzip-compressed, into the engine's ``UploadStream`` sized as ``dump_to_catalog`` sizes it, on a stand-in
S3 client that keeps nothing and takes ``OFFSITE_BENCH_MEMORY_PART_SECONDS`` (0.05 s) per part, so the
upload slots stay full like a slow link's would. Aim: peak RSS <= 256 MiB everywhere.

Sizes ``OFFSITE_BENCH_MEMORY_MB`` (1024,4096); parallel ``OFFSITE_BENCH_MEMORY_PARALLEL`` (1,4,16);
documents ``OFFSITE_BENCH_MEMORY_DOCS``: ``mixed`` (the data set's 50 B - 4 KB) and ``large`` (1-4 MB);
``OFFSITE_BENCH_MEMORY_BUDGET_MIB`` overrides the engine's default budget (100000: in effect none).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict

import pymongo

from bench.dataset import DATABASES
from bench.fast_server import fast_server
from bench.measure import report, run_worker

DOCS = {"mixed": (), "large": ("--large-docs", "1000000-4000000", "--small-docs", "1000000-2000000")}
AIM_MIB = 256


class DiscardingS3:
    """The few S3 calls ``UploadStream`` makes, answered after a delay per part; nothing is kept."""

    def __init__(self, part_seconds: float) -> None:
        self.part_seconds = part_seconds

    def create_multipart_upload(self, **_: Any) -> Dict[str, str]:
        return {"UploadId": "bench"}

    def upload_part(self, Body: Any, PartNumber: int, **_: Any) -> Dict[str, str]:
        time.sleep(self.part_seconds)
        return {"ETag": f'"{PartNumber}"'}

    def complete_multipart_upload(self, **_: Any) -> Dict[str, str]:
        return {"ETag": '"bench"'}

    def put_object(self, **_: Any) -> Dict[str, str]:
        return {"ETag": '"bench"'}

    def abort_multipart_upload(self, **_: Any) -> None:
        return None


def worker(argv) -> None:
    """``worker URI PARALLEL``: one streamed dump in this child process."""
    from ansible_collections.offsite.mongodb.plugins.module_utils.byte_budget import (  # noqa: PLC0415
        upload_concurrency,
    )
    from ansible_collections.offsite.mongodb.plugins.module_utils.dump import dump_archive  # noqa: PLC0415
    from ansible_collections.offsite.mongodb.plugins.module_utils.dump_plan import DumpPlan  # noqa: PLC0415
    from ansible_collections.offsite.mongodb.plugins.module_utils.s3_upload import (  # noqa: PLC0415
        DEFAULT_PART_SIZE,
        UploadStream,
    )

    uri, parallel = argv[0], int(argv[1])
    plan = DumpPlan(databases=list(DATABASES), compression="gzip", parallel_collections=parallel)
    if os.environ.get("OFFSITE_BENCH_MEMORY_BUDGET_MIB"):  # e.g. 100000: no budget, as before it existed
        plan.memory_budget = int(os.environ["OFFSITE_BENCH_MEMORY_BUDGET_MIB"]) << 20
    part_seconds = float(os.environ.get("OFFSITE_BENCH_MEMORY_PART_SECONDS", "0.05"))

    def step() -> int:
        client = pymongo.MongoClient(uri)
        parts = upload_concurrency(plan.memory_budget, DEFAULT_PART_SIZE, 8)  # the modules' default is 8
        upload = UploadStream(DiscardingS3(part_seconds), "bench", "bench.gz", max_concurrency=parts)
        with upload:
            dumped = dump_archive(client, upload, plan)
        return dumped.bytes

    report(step)


def main() -> None:
    sizes = [int(v) for v in os.environ.get("OFFSITE_BENCH_MEMORY_MB", "1024,4096").split(",")]
    parallels = os.environ.get("OFFSITE_BENCH_MEMORY_PARALLEL", "1,4,16").split(",")
    docs = os.environ.get("OFFSITE_BENCH_MEMORY_DOCS", "mixed,large").split(",")
    worst = 0.0
    print(f"load {os.getloadavg()[0]:.1f}; aim: peak RSS <= {AIM_MIB} MiB")
    for kind in docs:
        for size in sizes:
            with (
                tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp,
                fast_server(Path(tmp), size, *DOCS[kind]) as (uri, pid),
            ):
                for parallel in parallels:
                    result = run_worker("bench_memory", uri, parallel, server_pid=pid)
                    worst = max(worst, result.peak_mib)
                    print(f"  {kind:5} documents, {size:5} MiB, parallel_collections {parallel:>2}: peak RSS "
                          f"{result.peak_mib:4.0f} MiB, {result.seconds:6.1f} s, "
                          f"{result.moved / 2**20 / result.seconds:6.1f} MiB/s", flush=True)  # fmt: skip
    print(f"memory: worst peak RSS {worst:.0f} MiB (aim <= {AIM_MIB} MiB)")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        worker(sys.argv[2:])
    else:
        main()
