"""Streaming dump-to-S3 against its two stages run alone, measured in one run.

Stage 1: native dump to a local file. Stage 2: upload of that file into the catalog.
Streamed: the dump written straight into the catalog's multipart upload (no local file).
The streamed run should take about as long as the slower stage (the stages overlap instead of
adding up), with bounded memory and nothing written to local disk (``/proc/self/io`` write_bytes).

Compression ``OFFSITE_BENCH_STREAM_COMPRESSION`` (default zstd). MongoDB: the fast in-memory server and
nx-27017, one after the other (``bench/data_servers.py``: ``OFFSITE_BENCH_SERVERS`` and the sizes); S3: a
moto server on loopback (or ``OFFSITE_TEST_S3_ENDPOINT`` with ``OFFSITE_TEST_S3_ACCESS_KEY``/``_SECRET_KEY``).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pymongo

from bench.data_servers import DATABASES, s3_endpoint, served, server_kinds
from bench.measure import ROOT

sys.path.insert(0, str(ROOT / ".cache" / "collections"))


def disk_writes() -> int:
    """Bytes this process caused to be written to storage so far (Linux)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    return 0


def worker(argv) -> None:
    """Child process (own peak RSS and disk counters): ``worker KIND CONFIG_JSON``."""
    from ansible_collections.offsite.mongodb.plugins.module_utils import dump, dump_plan  # noqa: PLC0415
    from ansible_collections.offsite.mongodb.plugins.module_utils._tasks.catalog import put_backup  # noqa: PLC0415
    from ansible_collections.offsite.mongodb.plugins.module_utils._tasks.catalog_options import (  # noqa: PLC0415
        catalog_from_options,
    )
    from ansible_collections.offsite.mongodb.plugins.module_utils._tasks.dump import dump_to_catalog  # noqa: PLC0415

    kind, config = argv[0], json.loads(argv[1])
    plan = dump_plan.DumpPlan(databases=list(DATABASES), compression=config["compression"])
    store = catalog_from_options(config["s3"])
    before = disk_writes()
    start, cpu = time.perf_counter(), time.process_time()
    if kind == "file":
        client = pymongo.MongoClient(config["uri"])
        with open(config["path"], "wb") as sink:
            dump.dump_archive(client, sink, plan)
            sink.flush()
            os.fsync(sink.fileno())
    elif kind == "upload":
        put_backup(store, "bench-upload", config["path"], f"20260101T000000Z-{uuid.uuid4().hex[:6]}")
    elif kind == "stream":
        dump_to_catalog(lambda: pymongo.MongoClient(config["uri"]), store, "bench-stream", plan)
    seconds = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "cpu": time.process_time() - cpu, "peak_mib": peak_mib,
                      "disk_bytes": disk_writes() - before}))  # fmt: skip


def run(kind: str, config: dict) -> dict:
    completed = subprocess.run(
        [sys.executable, "-m", "bench.bench_stream", "worker", kind, json.dumps(config)],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> None:
    compression = os.environ.get("OFFSITE_BENCH_STREAM_COMPRESSION", "zstd")
    for kind in server_kinds():
        with (
            tempfile.TemporaryDirectory(prefix="bench-stream-") as tmp,
            served(kind, Path(tmp)) as (label, uri, _pid, data),
            s3_endpoint(Path(tmp)) as endpoint,
        ):
            workdir = Path(tmp)
            bucket = f"bench-stream-{uuid.uuid4().hex[:10]}"
            endpoint.client().create_bucket(Bucket=bucket)
            print(f"-- {label}: {data / 2**20:.0f} MiB BSON; compression {compression}", flush=True)
            s3 = {"bucket": bucket, "endpoint_url": endpoint.endpoint_url, "access_key": endpoint.access_key,
                  "secret_key": endpoint.secret_key, "region": endpoint.region, "prefix": "bench"}  # fmt: skip
            config = {"uri": uri, "compression": compression, "path": str(workdir / "dump.archive"), "s3": s3}
            to_file = run("file", config)
            upload = run("upload", config)
            stream = run("stream", config)
            slower = max(to_file["seconds"], upload["seconds"])
            for name, result in (("dump to file", to_file), ("upload file", upload), ("streamed", stream)):
                print(f"{name:12}: {result['seconds']:6.1f} s, {result['cpu'] / (data / 2**30):5.1f} CPU-s/GiB, "
                      f"peak RSS {result['peak_mib']:4.0f} MiB, local disk written {result['disk_bytes'] / 2**20:7.1f} MiB")  # fmt: skip
            print(f"streamed / slower stage: {stream['seconds'] / slower:.2f} (aim <= 1.15); "
                  f"streamed / sum of stages: {stream['seconds'] / (to_file['seconds'] + upload['seconds']):.2f}",
                  flush=True)  # fmt: skip


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        worker(sys.argv[2:])
    else:
        main()
