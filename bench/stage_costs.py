"""CPU seconds per GiB of each stage a dump runs, each measured alone on the benchmarks' data set in memory.

Usage: ``python -m bench.stage_costs`` (``OFFSITE_BENCH_STAGES_MB``, default 256). Together with the raw read
and the whole dump from ``python -m bench archive``, this says where a dump's CPU goes (docs/performance.md).
The data goes through each stage in 16 MiB batches, the size of a getMore reply.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, List

from bench.dataset import Layout, generate

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / ".cache" / "collections"))

from ansible_collections.offsite.mongodb.plugins.module_utils import archive, checksum, compression  # noqa: E402

BATCH = 16 << 20


def batches(size: int) -> List[bytes]:
    """The data set as batches of whole documents, about 16 MiB each."""
    out: List[bytes] = []
    current: List[bytes] = []
    filled = 0
    for _db, _name, docs in generate(Layout(size)):
        for doc in docs:
            current.append(doc)
            filled += len(doc)
            if filled >= BATCH:
                out.append(b"".join(current))
                current, filled = [], 0
    if current:
        out.append(b"".join(current))
    return out


def cpu_per_gib(
    data: List[bytes], step: Callable[[bytes], object], finish: Callable[[], object] = lambda: None
) -> float:
    total = sum(len(batch) for batch in data)
    start = time.process_time()
    for batch in data:
        step(batch)
    finish()
    return (time.process_time() - start) / (total / (1 << 30))


def measure_compressor(data: List[bytes], kind: str, threads: int) -> float:
    sink = open(os.devnull, "wb")  # noqa: SIM115 - closed right after the measurement
    writer = compression.compressing_writer(sink, kind, threads=threads)
    try:
        return cpu_per_gib(data, writer.write, writer.finish)
    finally:
        sink.close()


def main() -> None:
    data = batches(int(os.environ.get("OFFSITE_BENCH_STAGES_MB", "256")) << 20)
    print(f"{sum(len(b) for b in data) >> 20} MiB in {len(data)} batches; CPU-s per GiB of BSON:")
    crc = checksum.Crc64()
    stages = {
        "framing: scan_documents (the writer's count)": archive.scan_documents,
        f"CRC-64 ({checksum.BACKEND})": crc.update,
        "SHA-256 (hashlib, the module's inline hash)": hashlib.sha256().update,
    }
    for name, step in stages.items():
        print(f"  {name:48} {cpu_per_gib(data, step):6.2f}", flush=True)
    with tempfile.NamedTemporaryFile(prefix="stage-costs-") as handle:
        print(
            f"  {'file write (buffered, page cache)':48} {cpu_per_gib(data, handle.write, handle.flush):6.2f}"
        )
    for kind in ("gzip", "zstd"):
        for threads in (1, 0):
            used = compression.check_threads(threads)
            name = f"{kind} default level, {used} thread(s)"
            print(f"  {name:48} {measure_compressor(data, kind, threads):6.2f}", flush=True)


if __name__ == "__main__":
    main()
