"""Archive engine benchmark: native dump and restore against raw pymongo limits, measured in one run.

Dataset size: ``OFFSITE_BENCH_ARCHIVE_MB`` (default 64; run with 1024 for the issue's 1 GiB figure).
The data is split over two databases of equal size (a few large collections and many small ones
with mixed document sizes), so peak memory can be compared at half and full size. Runs against
``OFFSITE_TEST_MONGODB_URI`` when set, otherwise starts nx-27017 on loopback and stops it by PID.

Printed ratios (higher is better, 1.0 = the limit):
  dump none/gzip/zstd vs raw read  (find_raw_batches of every collection, discarded)
  restore vs raw insert_many        (the same raw documents, inserted in batches)
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / ".cache" / "collections"))
sys.path.insert(0, str(ROOT / "tests"))

import bson  # noqa: E402
import pymongo  # noqa: E402
from bson.raw_bson import RawBSONDocument  # noqa: E402
from support import servers  # noqa: E402

# The tests' launchers: nx-27017 / moto on loopback, stopped by PID, or the real servers from the environment.
mongo_server = contextlib.contextmanager(servers.mongo_server)
s3_endpoint = contextlib.contextmanager(servers.s3_endpoint)

DATABASES = ("bench_a", "bench_b")
RAW = bson.CodecOptions(document_class=RawBSONDocument)


def generate(client, total_bytes: int) -> int:
    """Fill the two databases; returns the BSON bytes written."""
    rng = random.Random(42)
    written = 0
    for db_name in DATABASES:
        client.drop_database(db_name)
        budget = total_bytes // len(DATABASES)
        plan = [(f"large_{i}", budget // 4, (200, 4000)) for i in range(3)]
        plan += [(f"small_{i:02d}", budget // 4 // 30, (50, 600)) for i in range(30)]
        for name, quota, (low, high) in plan:
            batch, batch_bytes, doc_id, left = [], 0, 0, quota
            while left > 0:
                pad = rng.randbytes(rng.randint(low, high) // 2).hex()  # compresses about 2:1, like real data
                doc = bson.encode({"_id": doc_id, "n": rng.random(), "tags": ["a", "b"], "pad": pad})
                doc_id += 1
                left -= len(doc)
                written += len(doc)
                batch.append(RawBSONDocument(doc))
                batch_bytes += len(doc)
                if batch_bytes > 4 << 20:
                    client[db_name][name].insert_many(batch, ordered=False)
                    batch, batch_bytes = [], 0
            if batch:
                client[db_name][name].insert_many(batch, ordered=False)
    return written


def worker(argv) -> None:
    """Runs in a child process so that its peak RSS is its own: ``worker KIND URI ARGS``."""
    from ansible_collections.offsite.mongodb.plugins.module_utils import dump, restore  # noqa: PLC0415
    from ansible_collections.offsite.mongodb.plugins.module_utils.dump_plan import DumpPlan  # noqa: PLC0415
    from ansible_collections.offsite.mongodb.plugins.module_utils.restore_plan import RestorePlan  # noqa: PLC0415

    kind, uri = argv[0], argv[1]
    client = pymongo.MongoClient(uri)
    start = time.perf_counter()
    moved = 0
    if kind == "read":
        for db_name in json.loads(argv[2]):
            database = client.get_database(db_name, codec_options=RAW)
            for name in database.list_collection_names():
                for batch in database[name].find_raw_batches():
                    moved += len(batch)
    elif kind == "dump":
        compression, databases, dest = argv[2], json.loads(argv[3]), argv[4]
        with open(dest, "wb") as sink:
            report = dump.dump_archive(client, sink, DumpPlan(databases=databases, compression=compression))
        moved = report.bytes
    elif kind == "restore":
        plan = RestorePlan(ns_from=["bench_*.*"], ns_to=["restored_*.*"], drop=True)
        with open(argv[2], "rb") as source:
            report = restore.restore_archive(client, source, plan)
        moved = report.documents
    elif kind == "insert":
        from ansible_collections.offsite.mongodb.plugins.module_utils.archive_reader import (  # noqa: PLC0415
            ArchiveReader,
        )

        with open(argv[2], "rb") as source:
            reader = ArchiveReader(source)
            for db_name in DATABASES:
                client.drop_database("raw_" + db_name)
            for event in reader.events():
                if event.kind == "data":
                    client["raw_" + event.entry.db][event.entry.collection].insert_many(
                        [RawBSONDocument(d) for d in event.documents], ordered=False
                    )
                    moved += len(event.documents)
    seconds = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "moved": moved, "peak_mib": peak_mib}))


def run(*args) -> dict:
    completed = subprocess.run(
        [sys.executable, "-m", "bench.bench_archive", "worker", *args],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> None:
    size_mb = int(os.environ.get("OFFSITE_BENCH_ARCHIVE_MB", "64"))
    with tempfile.TemporaryDirectory(prefix="bench-archive-") as tmp, mongo_server(Path(tmp)) as server:
        workdir, uri = Path(tmp), server.uri
        client = pymongo.MongoClient(uri)
        t0 = time.perf_counter()
        written = generate(client, size_mb << 20)
        print(f"dataset: {written / 2**20:.0f} MiB BSON in 2 databases x 33 collections "
              f"(generated in {time.perf_counter() - t0:.0f} s)")  # fmt: skip
        both = json.dumps(list(DATABASES))
        read = run("read", uri, both)
        mib_s = read["moved"] / 2**20 / read["seconds"]
        print(f"raw read limit: {mib_s:.1f} MiB/s ({read['seconds']:.1f} s)")
        archives = {}
        for compression in ("none", "gzip", "zstd"):
            dest = str(workdir / f"bench.{compression}")
            result = run("dump", uri, compression, both, dest)
            archives[compression] = dest
            ratio = read["seconds"] / result["seconds"]
            size = os.path.getsize(dest) / 2**20
            print(f"dump {compression:4}: {ratio:.2f} of the raw read limit ({result['seconds']:.1f} s, "
                  f"{size:.0f} MiB file, peak RSS {result['peak_mib']:.0f} MiB)")  # fmt: skip
        half = run("dump", uri, "none", json.dumps([DATABASES[0]]), str(workdir / "half.none"))
        print(f"peak RSS of dump none: half dataset {half['peak_mib']:.0f} MiB, full dataset "
              f"{run('dump', uri, 'none', both, str(workdir / 'again.none'))['peak_mib']:.0f} MiB")  # fmt: skip
        insert = run("insert", uri, archives["none"])
        restored = run("restore", uri, archives["none"])
        print(f"restore: {insert['seconds'] / restored['seconds']:.2f} of raw insert_many "
              f"({restored['seconds']:.1f} s vs {insert['seconds']:.1f} s, peak RSS {restored['peak_mib']:.0f} MiB)")  # fmt: skip
        for name in client.list_database_names():
            if name.startswith(("bench_", "raw_bench_", "restored_")):
                client.drop_database(name)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        worker(sys.argv[2:])
    else:
        main()
