"""What the benchmarks measure and their shared baseline: timed child processes and the raw pymongo read.

A measured step runs in a child process (``python -m bench.<module> worker ...``) so that its peak RSS
and CPU time are its own; the child prints one JSON line that ``run_worker`` returns as a ``Measured``.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, List, Optional

import bson
from bson.raw_bson import RawBSONDocument

ROOT = Path(__file__).resolve().parents[1]
GIB = float(1 << 30)
RAW = bson.CodecOptions(document_class=RawBSONDocument)
READ_PARALLEL = 4  # collections read at once, as the dump's default parallel_collections


@dataclass
class Measured:
    """One step: wall seconds, CPU seconds of the child (all threads), its peak RSS, bytes it moved."""

    seconds: float
    cpu: float
    peak_mib: float
    moved: int
    server_cpu: float = 0.0

    def cpu_per_gib(self, data_bytes: int) -> float:
        return self.cpu / (data_bytes / GIB)


def process_cpu(pid: Optional[int]) -> float:
    """CPU seconds (user + system) a running process has used so far, from /proc; 0 when unknown."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def report(step: Callable[[], int]) -> None:
    """Run ``step`` (returns bytes or documents moved) in this child and print its ``Measured`` as JSON."""
    cpu_before, start = time.process_time(), time.perf_counter()
    moved = step()
    seconds = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"seconds": seconds, "cpu": time.process_time() - cpu_before,
                      "peak_mib": usage.ru_maxrss / 1024, "moved": moved}))  # fmt: skip


def run_worker(module: str, *args: str, server_pid: Optional[int] = None) -> Measured:
    """Run ``python -m bench.<module> worker ARGS`` and return what it measured (plus the server's CPU)."""
    server_before = process_cpu(server_pid)
    completed = subprocess.run(
        [sys.executable, "-m", f"bench.{module}", "worker", *args],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if completed.returncode != 0:
        raise RuntimeError(f"bench worker {module} {args[:1]} failed:\n{completed.stderr[-3000:]}")
    result = Measured(**json.loads(completed.stdout.strip().splitlines()[-1]))
    result.server_cpu = process_cpu(server_pid) - server_before
    return result


def best_of(runs: List[Measured]) -> Measured:
    """Rounds of one step as one: the fastest wall and least CPU (noise only adds), the highest peak RSS."""
    fastest = min(runs, key=lambda run: run.seconds)
    return Measured(seconds=fastest.seconds, cpu=min(run.cpu for run in runs),
                    peak_mib=max(run.peak_mib for run in runs), moved=fastest.moved,
                    server_cpu=min(run.server_cpu for run in runs))  # fmt: skip


def raw_read(client: Any, databases: Iterable[str], parallel: int = READ_PARALLEL) -> int:
    """The read baseline: ``find_raw_batches`` of every collection, ``parallel`` at once; returns the bytes."""
    targets: List[Any] = []
    for name in databases:
        database = client.get_database(name, codec_options=RAW)
        targets += [database[collection] for collection in database.list_collection_names()]
    targets.sort(key=lambda collection: -collection.estimated_document_count())  # the dump's order too

    def read(collection: Any) -> int:
        return sum(len(batch) for batch in collection.find_raw_batches())

    with ThreadPoolExecutor(max_workers=parallel) as pool:
        return sum(pool.map(read, targets))


def raw_insert(client: Any, archive: str, databases: Iterable[str]) -> int:
    """The insert baseline: ``insert_many`` of every archive block into ``raw_<db>``, in archive order, one
    thread; the block's documents framed by bson's C decoder as ``RawBSONDocument`` (what ``insert_many``
    copies unread). Returns the documents."""
    from ansible_collections.offsite.mongodb.plugins.module_utils.archive_reader import ArchiveReader  # noqa: PLC0415

    for name in databases:
        client.drop_database("raw_" + name)
    moved = 0
    with open(archive, "rb") as source:
        for event in ArchiveReader(source).events():
            if event.kind == "data":
                documents = [doc for run in event.runs for doc in bson.decode_all(run, RAW)]
                client["raw_" + event.entry.db][event.entry.collection].insert_many(documents, ordered=False)
                moved += len(documents)
    return moved
